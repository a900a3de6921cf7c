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

import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

try:
    from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from fastapi.routing import APIRoute
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
except ImportError as exc:
    from ..extras import missing_extra_message

    raise ImportError(missing_extra_message(exc, "the model management API", "api")) from exc

from pydantic import BaseModel, ValidationError

from ..contract.step import step_schema
from ..core.policy_source import PolicyStore
from ..errors import redact
from ..loopback import host_name, is_loopback
from ..routing.health import HealthMonitor
from ..store.ledger import Ledger
from .catalog import (
    HEALTH_CHECK_LIMIT_S,
    HEALTH_CHECK_RATE,
    ApiError,
    ModelCatalog,
    RateLimit,
)
from .console import add_console_routes
from .models import (
    AvailableModels,
    ConfigRejected,
    ConfigView,
    ErrorMessage,
    ExecutionUsage,
    HealthCheckRequest,
    HealthCheckResult,
    Preference,
    Recommendations,
    UnknownModel,
    UsageReport,
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

log = logging.getLogger("auterity_ai_step.api")

API_TOKEN_ENV = "AUTERITY_AI_API_TOKEN"  # noqa: S105 - a variable name, not a secret
ADMIN_TOKEN_ENV = "AUTERITY_AI_ADMIN_TOKEN"  # noqa: S105
MIN_TOKEN_LENGTH = 16
MAX_BODY_BYTES = 64 * 1024
_SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
T = TypeVar("T")
_Responses = dict[int | str, dict[str, Any]]
_UNAUTHORIZED: _Responses = {
    401: {"model": ErrorMessage, "description": "Missing or invalid credentials"}
}
_STORE_DOWN: _Responses = {
    503: {"model": ErrorMessage, "description": "The usage ledger could not be read or written"}
}
_ADMIN_ONLY: _Responses = {403: {"model": ErrorMessage, "description": "The user is not an admin"}}
_TOO_LARGE: _Responses = {
    413: {"model": ErrorMessage, "description": "The body is over the server's size limit"}
}
_CONFIG_EXAMPLE = {
    "gpt-4o-mini": {"input_cost_per_1k": "0.0002", "use_cases": ["general"]},
    "local-llama": {
        "provider": "ollama",
        "api_base": "http://127.0.0.1:11434",
        "input_cost_per_1k": "0",
        "output_cost_per_1k": "0",
        "context_window": 8192,
    },
}
_CONFIG_BODY = {
    "required": True,
    "description": (
        "Every dynamic model configuration, replacing the stored set: model name to settings, "
        "in the policy file's model form. Validated with the policy file before anything is "
        "written. Name keys with api_key_env; a literal api_key is refused."
    ),
    "content": {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": {"type": "object"}},
            "example": _CONFIG_EXAMPLE,
        }
    },
}


def _http(call: Callable[..., T], *args: Any) -> T:
    """Run a catalog call, turning its ApiError into the HTTP error it names."""
    try:
        return call(*args)
    except ApiError as exc:
        raise HTTPException(exc.status, exc.detail, headers=exc.headers) from exc


async def _http_async(call: Awaitable[T]) -> T:
    try:
        return await call
    except ApiError as exc:
        raise HTTPException(exc.status, exc.detail, headers=exc.headers) from exc


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the request body is over this server's limit of {limit} bytes; send a smaller "
        "body (a model configuration is a few kilobytes)",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 before more than ``limit`` bytes are held.

    A declared ``Content-Length`` over the limit is refused without reading anything; a
    streamed body is read chunk by chunk and refused once it passes the limit. Call it
    only after authentication (a route's dependencies run first, and no route here
    declares a body parameter that FastAPI would read before them).
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length must be a number of bytes")
        if int(declared) > limit:
            raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


BodyModel = TypeVar("BodyModel", bound=BaseModel)


async def read_model(request: Request, model: type[BodyModel], limit: int) -> BodyModel:
    """A JSON body read with :func:`read_body` (so only after authentication, and never
    more than ``limit`` bytes), validated as ``model``; a 422 in FastAPI's shape if not."""
    raw = await read_body(request, limit)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise RequestValidationError(errors) from None


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    """422 in FastAPI's shape without echoing the input (a body may hold something secret)."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": redact(str(e.get("msg", ""))), "type": e.get("type")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


class _RedactingRoute(APIRoute):
    """A route answering its own validation errors with :func:`_validation_response`.

    Exception handlers belong to the app, which a host owns; this keeps the router's 422s
    free of request input (keys included) whatever handlers the host installed, or none.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _validation_response(exc)

        return route_handler


def _detail_text(detail: Any) -> str:
    """An error body for the log: its message and each error, redacted, on one line."""
    if isinstance(detail, dict):
        parts = [str(detail.get("message", "")), *map(str, detail.get("errors") or ())]
        text = "; ".join(part for part in parts if part)
    else:
        text = str(detail)
    return redact(" ".join(text.split()))


def _bad_request(kind: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's own validation-error shape, as the route documents."""
    return RequestValidationError([{"loc": ("body", "model"), "msg": message, "type": kind}])


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
    ledger = Ledger() if ledger is None else ledger
    if policy_store is None:
        policy_store = PolicyStore(overrides=ledger.model_configurations)
    if monitor is None:
        monitor = HealthMonitor.for_policy(policy_store)
    work = ModelCatalog(
        policy_store, ledger, monitor, health_check_limit_s, RateLimit(*health_check_rate)
    )
    router = APIRouter(
        prefix="/api/models",
        tags=["models"],
        dependencies=[Depends(auth)],
        responses=_UNAUTHORIZED,
        route_class=_RedactingRoute,
    )

    def require_admin(request: Request, user: Annotated[Any, Depends(auth)]) -> Any:
        if not is_admin(user):
            log.info("refused %s %s: the user is not an admin", request.method, request.url.path)
            raise HTTPException(
                403,
                "only an admin may read or change model configurations (standalone: send "
                "the AUTERITY_AI_ADMIN_TOKEN token; the API token is never admin)",
            )
        return user

    @router.get(
        "/available",
        summary="List every model with prices, limits, capabilities and health",
        description=(
            "Every model of the live policy: provider, prices per 1k input and output tokens "
            "(decimal strings), context window, max output tokens, capabilities, use cases, "
            "and the last known health and latency. No provider is called."
        ),
    )
    def available() -> AvailableModels:
        return work.available()

    @router.get(
        "/usage",
        summary="Tokens and cost by model and by day, with the budget figures",
        description=(
            "Totals for the last `days` UTC days (today included), optionally for one model, "
            "plus the daily budget and today's spent, reserved and remaining amounts."
        ),
        responses=_STORE_DOWN,
    )
    def usage(
        days: Annotated[
            int,
            Query(
                ge=1,
                le=90,
                description="Days to cover: today (UTC) and the days before it, 1 to 90",
                examples=[7],
            ),
        ] = 7,
        model: Annotated[
            str | None,
            Query(
                max_length=200,
                description="Only this model's attempts (the budget figures stay for all models)",
            ),
        ] = None,
    ) -> UsageReport:
        return _http(work.usage, days, model)

    @router.post(
        "/health-check",
        summary="Check one model now",
        description=(
            "Runs a real, cheap request against the model (at most 5 s) and returns its status "
            'and latency. Name the model in the body (`{"model": "gpt-4o-mini"}`) or in the '
            "`model` query parameter. An unknown model is a 404 listing the known ones."
        ),
        responses={
            404: {"model": UnknownModel, "description": "Unknown model; the known ones listed"},
            **_TOO_LARGE,
            429: {
                "model": ErrorMessage,
                "description": "This caller's health checks per window are used up (see "
                "Retry-After), or the budget has no room for one",
            },
            **_STORE_DOWN,
        },
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": HealthCheckRequest.model_json_schema(),
                        "example": {"model": "gpt-4o-mini"},
                    }
                },
            }
        },
    )
    async def health_check(
        request: Request,
        user: Annotated[Any, Depends(auth)],
        model: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=200,
                description="The model's name in the live policy, if not in the body",
            ),
        ] = None,
    ) -> HealthCheckResult:
        raw = await read_body(request, max_body_bytes)
        body = _health_request(raw)
        if body is not None and model is not None and body.model != model:
            raise _bad_request("value_error", "name the model once: body and query disagree")
        name = body.model if body is not None else model
        if name is None:
            raise _bad_request("missing", 'name the model: {"model": "..."} or ?model=...')
        return await _http_async(work.health_check(name, caller_of(user)))

    @router.get(
        "/recommendations",
        summary="Rank the models for a task",
        description=(
            "Every model ranked for the task type, the context length it must hold and the "
            "cost preference, each with its reasons and estimated cost per 1k tokens; "
            "`recommended` is the best fitting model not known to be down."
        ),
    )
    def recommendations(
        task_type: Annotated[
            str | None,
            Query(
                max_length=100,
                description=(
                    "The task to rank for, e.g. customer_inquiry: a key of the policy's "
                    "routing_rules.task_preferences (its models, in that order, fit the task "
                    "best) or a word matched against the models' use_cases and capabilities. "
                    "Without it, only a general use case counts as task fit."
                ),
                examples=["customer_inquiry"],
            ),
        ] = None,
        context_length: Annotated[
            int,
            Query(
                ge=0,
                le=100_000_000,
                description="Tokens (prompt plus answer) the model must hold; 0: no requirement",
            ),
        ] = 0,
        cost_preference: Annotated[
            Preference,
            Query(
                description=(
                    "How to rank: cheapest (blended price first), balanced (task fit, price "
                    "and quality weighed together) or quality (the policy's quality first)"
                )
            ),
        ] = "balanced",
    ) -> Recommendations:
        return work.recommendations(task_type, context_length, cost_preference)

    @router.get(
        "/step-schema",
        summary="The AI step JSON Schema with the live model list",
        description=(
            "The JSON Schema (2020-12) for an AI step's config, with `model` and "
            "`fallback_models` limited to the live policy's models, for builder forms."
        ),
    )
    def schema() -> dict[str, Any]:
        return step_schema(work.store.current())

    @router.get(
        "/executions/{execution_id}/usage",
        summary="Every attempt recorded against one workflow execution",
        description="The execution's ledger rows, oldest first, with totals; empty if none.",
        responses=_STORE_DOWN,
    )
    def execution_usage(
        execution_id: Annotated[
            str,
            Path(
                min_length=1,
                max_length=200,
                description="The workflow execution's id, as recorded with its attempts",
            ),
        ],
    ) -> ExecutionUsage:
        return _http(work.execution_usage, execution_id)

    @router.get(
        "/config",
        summary="Dynamic model configurations (admin)",
        description=(
            "The stored model configurations and, for every live model, which environment "
            "variable holds its key and whether it is set; never a key."
        ),
        responses={**_ADMIN_ONLY, **_STORE_DOWN},
        dependencies=[Depends(require_admin)],
    )
    def get_config() -> ConfigView:
        return _http(work.config_view)

    @router.put(
        "/config",
        summary="Replace the dynamic model configurations (admin)",
        description=(
            "Validated together with the policy file exactly as a file change would be; an "
            "invalid set is a 422 listing each error and changes nothing. A valid set is "
            "written in one transaction and is live for running executors without restart."
        ),
        responses={
            **_ADMIN_ONLY,
            **_STORE_DOWN,
            **_TOO_LARGE,
            409: {
                "model": ErrorMessage,
                "description": (
                    "The router's policy store cannot apply stored configurations: it has no "
                    "policy file, or it was built without overrides=ledger.model_configurations"
                ),
            },
            422: {"model": ConfigRejected, "description": "Invalid; `errors` lists each problem"},
        },
        dependencies=[Depends(require_admin)],
        openapi_extra={"requestBody": _CONFIG_BODY},
    )
    async def put_config(request: Request) -> ConfigView:
        try:
            try:
                body = json.loads(await read_body(request, max_body_bytes))
            except ValueError as exc:
                raise HTTPException(
                    422,
                    {
                        "message": "invalid model configuration; nothing was changed",
                        "errors": ["the body must be a JSON object"],
                    },
                ) from exc
            view = await run_in_threadpool(_http, work.put_config, body)
        except HTTPException as exc:
            log.info(
                "refused a model configuration change (HTTP %d): %s",
                exc.status_code,
                _detail_text(exc.detail),
            )
            raise
        log.info(
            "model configurations replaced: %s", redact(", ".join(sorted(body))) or "none stored"
        )
        return view

    async def read_json(request: Request, model: type[BodyModel]) -> BodyModel:
        return await read_model(request, model, max_body_bytes)

    add_console_routes(router, work, read_json)
    return router


def _health_request(raw: bytes) -> HealthCheckRequest | None:
    """The health-check body as FastAPI would parse it: empty or null means none."""
    if not raw.strip() or raw.strip() == b"null":
        return None
    try:
        return HealthCheckRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]
        raise RequestValidationError(errors) from None


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
        given = b"" if credentials is None else credentials.credentials.encode()
        matched = [admin for token, admin in tokens if hmac.compare_digest(given, token)]
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
        if any(matched):
            return ApiUser("admin", True)
        return ApiUser("api", False)

    return authenticate


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


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The app-level 422 handler: the same body as the router's own routes give."""
    assert isinstance(exc, RequestValidationError)
    return _validation_response(exc)


def _tokens(api_token: str | None, admin_token: str | None) -> tuple[str | None, str | None]:
    """The tokens given, else from the environment; ValueError if one is too short."""
    api_token = api_token or os.environ.get(API_TOKEN_ENV, "").strip() or None
    admin_token = admin_token or os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None
    for name, token in ((API_TOKEN_ENV, api_token), (ADMIN_TOKEN_ENV, admin_token)):
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"{name} must be at least {MIN_TOKEN_LENGTH} characters long")
    return api_token, admin_token


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
) -> FastAPI:
    """A standalone app serving the router with bearer-token authentication.

    Tokens default to ``$AUTERITY_AI_API_TOKEN`` and ``$AUTERITY_AI_ADMIN_TOKEN``; only the
    admin token may use ``/config``. With neither it refuses (ValueError) unless
    ``insecure_local``, which turns authentication off for a server bound to loopback (the
    ``serve`` command checks that) and checks each request's Host, Origin and write content
    type (:func:`local_only_auth`). Either token keeps authentication on, whatever
    ``insecure_local`` says.
    """
    api_token, admin_token = _tokens(api_token, admin_token)
    auth: Callable[..., ApiUser]
    if api_token is not None or admin_token is not None:
        auth = bearer_auth(api_token, admin_token)
    elif insecure_local:
        auth = local_only_auth
    else:
        raise ValueError(
            f"neither {API_TOKEN_ENV} nor {ADMIN_TOKEN_ENV} is set: set them to long random "
            "tokens, or pass insecure_local=True for a server bound to loopback only"
        )
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
    return app
