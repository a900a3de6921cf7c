"""Names a package re-exports from its submodules, imported on first use.

A package's ``__init__`` lists where each public name lives and sets
``__getattr__ = lazy_exports(__name__, {...})``: importing the package (or one of its
submodules) then loads none of the others, so commands that never run a step do not pay
for SQLAlchemy, the engine or LiteLLM at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each name to the module
    (relative to ``package``) it is imported from; once loaded it is kept on the package."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
