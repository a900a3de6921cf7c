"""Deprecated import path, kept for hosts: use ``auterity_ai_step.service.model_configs``."""

from __future__ import annotations

import warnings

from .service.model_configs import *  # noqa: F403
from .service.model_configs import __all__ as __all__

warnings.warn(
    "auterity_ai_step.model_configs moved to "
    "auterity_ai_step.service.model_configs; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
