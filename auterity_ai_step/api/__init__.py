"""The HTTP face: the FastAPI router (``router``), console routes (``console``), the
catalog of models and prices it serves (``catalog``) and the typed bodies (``models``).

``from auterity_ai_step.api import create_router`` is the stable import path for hosts;
importing it without FastAPI raises an ImportError naming the ``[api]`` extra.
"""

from __future__ import annotations

from .router import (
    ADMIN_TOKEN_ENV,
    API_TOKEN_ENV,
    MAX_BODY_BYTES,
    MIN_TOKEN_LENGTH,
    ApiUser,
    bearer_auth,
    create_app,
    create_router,
)

__all__ = [
    "ADMIN_TOKEN_ENV",
    "API_TOKEN_ENV",
    "MAX_BODY_BYTES",
    "MIN_TOKEN_LENGTH",
    "ApiUser",
    "bearer_auth",
    "create_app",
    "create_router",
]
