"""The model policy: typed models (``policy_model``), parsing
(``policy_parse``) and loading/hot reload (``policy_store``).

This module is the stable import path; the two halves live apart to stay small.
"""

from __future__ import annotations

from .policy_model import (
    CircuitSettings,
    CostControls,
    ModelSpec,
    Policy,
    RetrySettings,
    RoutingRules,
)
from .policy_parse import derive_quality, parse_policy
from .policy_store import PolicyStore, load_policy, read_policy_file

__all__ = [
    "CircuitSettings",
    "CostControls",
    "ModelSpec",
    "Policy",
    "PolicyStore",
    "RetrySettings",
    "RoutingRules",
    "derive_quality",
    "load_policy",
    "parse_policy",
    "read_policy_file",
]
