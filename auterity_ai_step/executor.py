"""Deprecated import path, kept for hosts: use ``auterity_ai_step.core.executor``."""

from __future__ import annotations

import warnings

from .core.executor import *  # noqa: F403
from .core.executor import __all__ as __all__

warnings.warn(
    "auterity_ai_step.executor moved to auterity_ai_step.core.executor; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
