"""Deprecated import path, kept for hosts: use ``auterity_ai_step.service.litellm_service``."""

from __future__ import annotations

import warnings

from .service.litellm_service import *  # noqa: F403
from .service.litellm_service import __all__ as __all__

warnings.warn(
    "auterity_ai_step.litellm_service moved to "
    "auterity_ai_step.service.litellm_service; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
