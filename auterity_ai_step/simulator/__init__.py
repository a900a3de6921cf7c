"""The built-in provider simulator: an OpenAI-shaped server on loopback (``server``) that
answers from a scenario (``scenario``), so the demo and tests run with no provider key;
``policy`` points a policy's models at it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .policy import simulated_policy
    from .scenario import ModelBehaviour, Outcome, Scenario, load_scenario
    from .server import RequestRecord, Simulator

_LAZY = {
    "ModelBehaviour": ".scenario",
    "Outcome": ".scenario",
    "RequestRecord": ".server",
    "Scenario": ".scenario",
    "Simulator": ".server",
    "load_scenario": ".scenario",
    "simulated_policy": ".policy",
}

__all__ = [
    "ModelBehaviour",
    "Outcome",
    "RequestRecord",
    "Scenario",
    "Simulator",
    "load_scenario",
    "simulated_policy",
]


__getattr__ = lazy_exports(__name__, _LAZY)
