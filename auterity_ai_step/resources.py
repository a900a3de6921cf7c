"""Files shipped with the package, found through importlib.resources.

The repository's ``schemas/`` and ``policies/`` are mapped into the wheel as the packages
``auterity_ai_step._schemas`` and ``auterity_ai_step._policies`` (see pyproject), so the same
lookups work from an editable checkout and from an installed wheel.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["bundled_policy_path", "example_path", "schema_text"]

SCHEMA_FILE = "ai_step.schema.json"
POLICY_FILE = "model_policies.yml"


def _real_path(package: str, *parts: str) -> Path:
    """A filesystem path for a bundled file (packages here are never zipped)."""
    traversable = resources.files(package)
    for part in parts:
        traversable = traversable.joinpath(part)
    path = Path(str(traversable))
    if not path.is_file():
        raise FileNotFoundError(f"bundled file {'/'.join(parts)} not found in {package}")
    return path


@cache
def schema_text() -> str:
    """The step JSON Schema's text."""
    return resources.files("auterity_ai_step._schemas").joinpath(SCHEMA_FILE).read_text("utf-8")


def bundled_policy_path() -> Path:
    """The default model policy shipped with the package."""
    return _real_path("auterity_ai_step._policies", POLICY_FILE)


def example_path(name: str) -> Path:
    """A bundled example step or input file, e.g. ``customer_inquiry.step.yml``."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise FileNotFoundError(f"example names are plain file names, got {name!r}")
    return _real_path("auterity_ai_step", "examples", name)
