"""Deprecated import path, kept for hosts: use ``auterity_ai_step.core.host``."""

from __future__ import annotations

import warnings

from .core.host import *  # noqa: F403
from .core.host import __all__ as __all__

warnings.warn(
    "auterity_ai_step.host moved to auterity_ai_step.core.host; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
