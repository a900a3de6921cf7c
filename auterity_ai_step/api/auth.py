"""Who may call the standalone app: bearer tokens, or loopback-only without any.

``AUTERITY_AI_API_TOKEN`` opens every read route and health checks; only
``AUTERITY_AI_ADMIN_TOKEN`` may read or change ``/config`` (it opens every route). Without
an admin token nobody is admin: an API token never is. Tokens are compared in constant time
and must be at least 16 characters. With neither token, ``insecure_local`` serves without
authentication for a loopback-bound server, and then answers only requests whose ``Host``
(and ``Origin``, when sent) is a loopback name, and refuses the content types a web page can
send without asking (text/plain, forms) on writes.

Each refusal is logged at INFO on ``auterity_ai_step.api``; never a token.
"""

import hmac
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..loopback import host_name, is_loopback

__all__ = [
    "ADMIN_TOKEN_ENV",
    "API_TOKEN_ENV",
    "MIN_TOKEN_LENGTH",
    "ApiUser",
    "app_auth",
    "bearer_auth",
    "local_only_auth",
    "require_bearer",
    "tokens",
]

log = logging.getLogger("auterity_ai_step.api")

API_TOKEN_ENV = "AUTERITY_AI_API_TOKEN"  # noqa: S105 - a variable name, not a secret
ADMIN_TOKEN_ENV = "AUTERITY_AI_ADMIN_TOKEN"  # noqa: S105
MIN_TOKEN_LENGTH = 16
_SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)


@dataclass(frozen=True)
class ApiUser:
    """Who a standalone request authenticated as."""

    name: str
    admin: bool


def bearer_auth(api_token: str | None, admin_token: str | None = None) -> Callable[..., ApiUser]:
    """A FastAPI dependency accepting ``Authorization: Bearer <token>`` (constant time).

    Only ``admin_token`` makes an admin; without it no caller is one.
    """
    scheme = HTTPBearer(auto_error=False, description="AUTERITY_AI_API_TOKEN (or admin token)")
    tokens = [(t.encode(), admin) for t, admin in ((api_token, False), (admin_token, True)) if t]

    def authenticate(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scheme)],
    ) -> ApiUser:
        matched = require_bearer(request, credentials, [token for token, _ in tokens])
        if any(tokens[i][1] for i in matched):
            return ApiUser("admin", True)
        return ApiUser("api", False)

    return authenticate


def require_bearer(
    request: Request, credentials: HTTPAuthorizationCredentials | None, tokens: Sequence[bytes]
) -> list[int]:
    """Which of ``tokens`` the request's bearer token is (their indexes), each compared in
    constant time; a 401 when none is, logged at INFO without the token given."""
    given = b"" if credentials is None else credentials.credentials.encode()
    matched = [i for i, token in enumerate(tokens) if hmac.compare_digest(given, token)]
    if credentials is None or not matched:
        log.info(  # never the token given
            "refused %s %s: %s",
            request.method,
            request.url.path,
            "no bearer token" if credentials is None else "the bearer token is not valid",
        )
        raise HTTPException(
            401,
            "a valid bearer token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return matched


def _refuse_local(request: Request, status: int, why: str) -> HTTPException:
    log.info("refused %s %s: %s", request.method, request.url.path, why)
    return HTTPException(status, why)


def local_only_auth(request: Request) -> ApiUser:
    """The ``insecure_local`` dependency: no token, but only loopback names and no
    request a web page could send without a CORS preflight (DNS rebinding, CSRF)."""
    host = host_name(request.headers.get("host"))
    if not is_loopback(host):
        raise _refuse_local(
            request,
            421,
            "without authentication this server answers only requests addressed to a "
            "loopback name (Host: 127.0.0.1, [::1] or localhost); set AUTERITY_AI_API_TOKEN "
            "to serve other names",
        )
    origin = request.headers.get("origin")
    if origin is not None and not is_loopback(host_name(origin, url=True)):
        raise _refuse_local(
            request,
            403,
            "without authentication this server refuses requests from web pages of other "
            "origins (the Origin header must be a loopback name); set AUTERITY_AI_API_TOKEN",
        )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind in _SIMPLE_CONTENT_TYPES:
            raise _refuse_local(
                request,
                415,
                f"Content-Type {kind} is refused on writes without authentication (a web "
                "page can send it unasked); send Content-Type: application/json",
            )
    return ApiUser("local", True)


def tokens(api_token: str | None, admin_token: str | None) -> tuple[str | None, str | None]:
    """The tokens given, else from the environment; ValueError if one is too short."""
    api_token = api_token or os.environ.get(API_TOKEN_ENV, "").strip() or None
    admin_token = admin_token or os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None
    for name, token in ((API_TOKEN_ENV, api_token), (ADMIN_TOKEN_ENV, admin_token)):
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"{name} must be at least {MIN_TOKEN_LENGTH} characters long")
    return api_token, admin_token


def app_auth(
    api_token: str | None, admin_token: str | None, insecure_local: bool
) -> Callable[..., ApiUser]:
    """The standalone app's ``auth``: bearer tokens when either is set, else (only with
    ``insecure_local``) :func:`local_only_auth`; ValueError when neither applies."""
    if api_token is not None or admin_token is not None:
        return bearer_auth(api_token, admin_token)
    if insecure_local:
        return local_only_auth
    raise ValueError(
        f"neither {API_TOKEN_ENV} nor {ADMIN_TOKEN_ENV} is set: set them to long random "
        "tokens, or pass insecure_local=True for a server bound to loopback only"
    )
