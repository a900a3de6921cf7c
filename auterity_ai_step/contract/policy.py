"""The model policy: typed models (``policy_model``), parsing
(``policy_parse``) and reading a file (``policy_file``); the hot-reloading
``PolicyStore`` is the core's (``core.policy_source``).

This module is the stable import path; the two halves live apart to stay small.
"""

from __future__ import annotations

from .policy_file import load_policy, read_policy_file
from .policy_model import (
    CircuitSettings,
    CostControls,
    ModelSpec,
    Policy,
    PolicySource,
    RetrySettings,
    RoutingRules,
)
from .policy_parse import derive_quality, parse_policy

__all__ = [
    "CircuitSettings",
    "CostControls",
    "ModelSpec",
    "Policy",
    "PolicySource",
    "RetrySettings",
    "RoutingRules",
    "derive_quality",
    "load_policy",
    "parse_policy",
    "read_policy_file",
]
