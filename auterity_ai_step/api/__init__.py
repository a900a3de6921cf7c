"""The HTTP face: the FastAPI router and app (``router``), its routes by topic
(``routes_*``, module-level, reading the router's context through ``deps``), the bodies
built from the core's catalog (``catalog``, ``*_reports``), the typed bodies (``models``)
and the built console's files (``console``).

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
