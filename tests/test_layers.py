"""The layers the package is built in, enforced on its imports.

The allowed arrows live in ``docgen/layers.py``, which also draws the picture on
docs/developer/architecture.md: a new import that crosses a layer the wrong way fails here,
naming the file, the module it imports and the two layers.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import pytest

from docgen import layers


def test_every_import_follows_the_layers() -> None:
    found = layers.violations()
    assert not found, "imports outside the allowed layers:\n" + "\n".join(found)


def test_no_two_parts_import_each_other() -> None:
    assert layers.cycles() == []


def test_every_part_has_a_layer() -> None:
    parts = {
        p.stem if p.is_file() else p.name
        for p in layers.PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    for part in sorted(parts):
        layers.layer_of(part)  # KeyError names the part


def test_the_checker_sees_a_wrong_arrow(tmp_path: Path) -> None:
    """A money module importing the store (the old loop) is reported, with both layers."""
    package = tmp_path / "auterity_ai_step"
    for folder in ("money", "store", "contract"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "errors.py").write_text("")
    (package / "store" / "ledger.py").write_text("from ..money.prices import Price\n")
    (package / "money" / "prices.py").write_text("from ..errors import PolicyError\n")
    (package / "money" / "limits.py").write_text(
        "from ..contract.policy import Policy\n"
        "if True:\n    from ..store.ledger import Ledger  # lazy imports count too\n"
    )
    assert layers.violations(package) == ["money/limits.py -> store.ledger (money > store)"]
    assert layers.cycles(package) == [["money", "store"]]


def test_an_unknown_part_is_named() -> None:
    with pytest.raises(KeyError, match="'telepathy' is in no layer"):
        layers.layer_of("telepathy")


def test_every_package_ships_in_the_wheel() -> None:
    """pyproject lists packages one by one: a new part left out would vanish from the wheel."""
    listed = set(
        tomllib.loads((layers.PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"][
            "packages"
        ]
    )
    found = {
        "auterity_ai_step." + p.parent.relative_to(layers.PACKAGE).as_posix().replace("/", ".")
        for p in layers.PACKAGE.rglob("__init__.py")
        if p.parent != layers.PACKAGE
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.parametrize("old", sorted(layers.DEPRECATED))
def test_an_old_import_path_warns_and_still_works(old: str) -> None:
    name = f"auterity_ai_step.{old}"
    sys.modules.pop(name, None)
    with pytest.warns(DeprecationWarning, match=f"{name} moved to auterity_ai_step"):
        module = importlib.import_module(name)
    new = importlib.import_module(module.__doc__.split("``")[1])
    assert module.__all__ == new.__all__
    assert all(getattr(module, n) is getattr(new, n) for n in new.__all__)
