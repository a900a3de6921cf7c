"""The built-in provider simulator: an OpenAI-shaped server on loopback (``server``) that
answers from a scenario (``scenario``), so the demo and tests run with no provider key.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scenario import ModelBehaviour, Outcome, Scenario, load_scenario
    from .server import RequestRecord, Simulator

_LAZY = {
    "ModelBehaviour": ".scenario",
    "Outcome": ".scenario",
    "RequestRecord": ".server",
    "Scenario": ".scenario",
    "Simulator": ".server",
    "load_scenario": ".scenario",
}

__all__ = [
    "ModelBehaviour",
    "Outcome",
    "RequestRecord",
    "Scenario",
    "Simulator",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    """Load on first use, so importing one submodule does not load the others."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
