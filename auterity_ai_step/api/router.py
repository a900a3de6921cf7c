"""The model management API: a FastAPI router for hosts and a standalone app.

Install with ``pip install 'auterity-ai-step[api]'``; this is the only module that imports
FastAPI. A host mounts :func:`create_router` with its own authentication dependency (every
route depends on it) and a predicate telling admins apart; :func:`create_app` wraps the same
router in an app with bearer-token authentication for running outside Auterity.

Standalone tokens (``create_app``): ``AUTERITY_AI_API_TOKEN`` opens every read route and
health checks; only ``AUTERITY_AI_ADMIN_TOKEN`` may read or change ``/config`` (it opens
every route). Without an admin token nobody is admin: an API token never is. Tokens are
compared in constant time and must be at least 16 characters. ``/docs`` and
``/openapi.json`` stay public: they describe the API and hold no data. With neither token,
``insecure_local`` serves without authentication for a loopback-bound server, and then
answers only requests whose ``Host`` (and ``Origin``, when sent) is a loopback name, and
refuses the content types a web page can send without asking (text/plain, forms) on writes.

Every route authenticates before it reads a request body, and a body over
``max_body_bytes`` (default 64 KiB) is refused with 413 as soon as it is declared or, for
a streamed body, as soon as the limit is passed: nothing larger is ever held.

No response, error body included, carries a key: the config view names the environment
variable each model reads and whether it is set; error texts pass through ``errors.redact``
with the values of those variables as literal secrets.

The ``auterity_ai_step.api`` logger records at INFO each request refused for its
credentials (a missing or invalid token, a non-admin on ``/config``) and each model
configuration change, applied or refused with its reasons; never a token or a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from fastapi import APIRouter, Depends, FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
except ImportError as exc:
    from ..extras import missing_extra_message

    raise ImportError(missing_extra_message(exc, "the model management API", "api")) from exc

from ..core.catalog import HEALTH_CHECK_LIMIT_S, HEALTH_CHECK_RATE, RateLimit
from ..core.runtime import HealthMonitor, Ledger, PolicyStore, Runtime
from ..telemetry.prometheus import PrometheusMetrics
from . import routes_config, routes_models, routes_status, routes_steps, routes_usage, whatif
from .auth import (
    ADMIN_TOKEN_ENV,
    API_TOKEN_ENV,
    MIN_TOKEN_LENGTH,
    ApiUser,
    app_auth,
    bearer_auth,
    local_only_auth,
    tokens,
)
from .catalog import ModelCatalog
from .deps import (
    MAX_BODY_BYTES,
    UNAUTHORIZED,
    ApiContext,
    RedactingRoute,
    bind_context,
    read_body,
    read_model,
    validation_response,
)
from .metrics import add_metrics_route
from .metrics import metrics_token as metrics_token_from

__all__ = [
    "ADMIN_TOKEN_ENV",
    "API_TOKEN_ENV",
    "MAX_BODY_BYTES",
    "MIN_TOKEN_LENGTH",
    "ApiUser",
    "bearer_auth",
    "create_app",
    "create_router",
    "local_only_auth",
    "read_body",
    "read_model",
]

#: The route modules, in the order their routes are matched and documented.
ROUTES = (routes_models, routes_usage, routes_config, routes_steps, routes_status, whatif)


def create_router(
    *,
    auth: Callable[..., Any],
    is_admin: Callable[[Any], bool],
    policy_store: PolicyStore | None = None,
    ledger: Ledger | None = None,
    monitor: HealthMonitor | None = None,
    health_check_limit_s: float = HEALTH_CHECK_LIMIT_S,
    max_body_bytes: int = MAX_BODY_BYTES,
    health_check_rate: tuple[int, float] = HEALTH_CHECK_RATE,
    caller_of: Callable[[Any], str] = str,
) -> APIRouter:
    """The ``/api/models`` router; every route depends on ``auth``.

    Pass the executor's own PolicyStore, Ledger and the HealthMonitor built on its
    CircuitBreaker so the API shows and changes what running steps use. Defaults: the
    embedded ledger and a PolicyStore that reads the ledger's model configurations. A
    store built without ``overrides=ledger.model_configurations`` would never see what
    ``PUT /config`` writes, so that route then refuses with 409 and writes nothing.
    Validation errors (422) never echo request input, whatever handlers the host app has.
    ``health_check_limit_s`` caps a health check whatever the model's own timeout.

    Bodies are read only after ``auth`` and refused over ``max_body_bytes`` (413). Health
    checks are metered against the ledger and budget like steps, and each caller
    (``caller_of(user)``, default ``str(user)``) may start at most ``health_check_rate``
    = (checks, seconds) of them; more is a 429 with ``Retry-After``.
    """
    runtime = Runtime.open(policy_store=policy_store, ledger=ledger, monitor=monitor)
    work = ModelCatalog(
        runtime.policy_store,
        runtime.ledger,
        runtime.monitor,
        health_check_limit_s,
        RateLimit(*health_check_rate),
    )
    context = ApiContext(work, is_admin, caller_of, max_body_bytes)
    router = APIRouter(
        prefix="/api/models",
        tags=["models"],
        dependencies=[Depends(auth), Depends(bind_context(context, auth))],
        responses=UNAUTHORIZED,
        route_class=RedactingRoute,
    )
    for routes in ROUTES:
        router.include_router(routes.router)
    return router


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The app-level 422 handler: the same body as the router's own routes give."""
    assert isinstance(exc, RequestValidationError)
    return validation_response(exc)


def create_app(
    *,
    api_token: str | None = None,
    admin_token: str | None = None,
    insecure_local: bool = False,
    policy_store: PolicyStore | None = None,
    ledger: Ledger | None = None,
    monitor: HealthMonitor | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    health_check_rate: tuple[int, float] = HEALTH_CHECK_RATE,
    metrics: PrometheusMetrics | None = None,
    metrics_token: str | None = None,
) -> FastAPI:
    """A standalone app serving the router with bearer-token authentication.

    Tokens default to ``$AUTERITY_AI_API_TOKEN`` and ``$AUTERITY_AI_ADMIN_TOKEN``; only the
    admin token may use ``/config``. With neither it refuses (ValueError) unless
    ``insecure_local``, which turns authentication off for a server bound to loopback (the
    ``serve`` command checks that) and checks each request's Host, Origin and write content
    type (:func:`local_only_auth`). Either token keeps authentication on, whatever
    ``insecure_local`` says. With ``metrics``, ``GET /metrics`` serves them to the same
    tokens plus ``metrics_token`` (default ``$AUTERITY_AI_METRICS_TOKEN``; :mod:`.metrics`).
    """
    api_token, admin_token = tokens(api_token, admin_token)
    scrape_token = metrics_token_from(metrics_token, MIN_TOKEN_LENGTH)
    auth = app_auth(api_token, admin_token, insecure_local)
    app = FastAPI(
        title="auterity-ai-step model management",
        description=(
            "Model catalogue, health, usage, recommendations and dynamic model configuration "
            "for auterity-ai-step. Send `Authorization: Bearer <token>`; `/config` needs the "
            "admin token (`AUTERITY_AI_ADMIN_TOKEN`): the API token is never admin. Bodies "
            "over the size limit are refused with 413. Money is a decimal string (US "
            "dollars); times are ISO 8601 UTC."
        ),
        version="1",
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(
        create_router(
            auth=auth,
            is_admin=lambda user: bool(user.admin),
            policy_store=policy_store,
            ledger=ledger,
            monitor=monitor,
            max_body_bytes=max_body_bytes,
            health_check_rate=health_check_rate,
        )
    )
    if metrics is not None:
        local = local_only_auth if auth is local_only_auth else None
        scrape = [api_token, admin_token, scrape_token]
        add_metrics_route(app, metrics, tokens=scrape, local_auth=local)
    return app
