"""What every route depends on: the router's context, admin rights, bodies read after
authentication, and errors turned into responses.

A router built by ``create_router`` runs two dependencies before any route: the host's
``auth``, then :func:`bind_context`'s, which puts a :class:`Caller` (the router's
:class:`ApiContext` and the authenticated user) on ``request.state``. Routes are
module-level functions that read it through :func:`caller` or :func:`catalog`, so one
process may mount several routers over different ledgers and policies.

Bodies are never declared as route parameters (FastAPI would read them before ``auth``):
routes call :func:`read_json` or :func:`read_body`, which refuse more than the router's
``max_body_bytes`` with 413 before holding it.
"""

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from ..errors import redact
from .catalog import ApiError, ModelCatalog
from .models import ErrorMessage

__all__ = [
    "ADMIN_ONLY",
    "MAX_BODY_BYTES",
    "STORE_DOWN",
    "TOO_LARGE",
    "UNAUTHORIZED",
    "ApiContext",
    "Caller",
    "CallerDep",
    "CatalogDep",
    "RedactingRoute",
    "bind_context",
    "body_doc",
    "body_errors",
    "caller",
    "catalog",
    "http",
    "http_async",
    "read_body",
    "read_json",
    "read_model",
    "require_admin",
    "validation_response",
]

log = logging.getLogger("auterity_ai_step.api")

MAX_BODY_BYTES = 64 * 1024
T = TypeVar("T")
BodyModel = TypeVar("BodyModel", bound=BaseModel)
Responses = dict[int | str, dict[str, Any]]
UNAUTHORIZED: Responses = {
    401: {"model": ErrorMessage, "description": "Missing or invalid credentials"}
}
STORE_DOWN: Responses = {
    503: {"model": ErrorMessage, "description": "The usage ledger could not be read or written"}
}
ADMIN_ONLY: Responses = {403: {"model": ErrorMessage, "description": "The user is not an admin"}}
TOO_LARGE: Responses = {
    413: {"model": ErrorMessage, "description": "The body is over the server's size limit"}
}


@dataclass(frozen=True)
class ApiContext:
    """One router's work and rules: its catalog, who is an admin, whose health checks are
    counted together, and the largest body it reads."""

    catalog: ModelCatalog
    is_admin: Callable[[Any], bool]
    caller_of: Callable[[Any], str] = str
    max_body_bytes: int = MAX_BODY_BYTES


@dataclass(frozen=True)
class Caller:
    """One request's router context and the user ``auth`` returned."""

    context: ApiContext
    user: Any


_STATE = "auterity_ai_step"


def bind_context(context: ApiContext, auth: Callable[..., Any]) -> Callable[..., None]:
    """The router-level dependency that authenticates (``auth``, cached for the request)
    and then puts the request's :class:`Caller` on ``request.state``."""

    def bind(request: Request, user: Annotated[Any, Depends(auth)]) -> None:
        setattr(request.state, _STATE, Caller(context, user))

    return bind


def caller(request: Request) -> Caller:
    """The request's :class:`Caller` (set by the router's :func:`bind_context`)."""
    found: Caller = getattr(request.state, _STATE)
    return found


def catalog(request: Request) -> ModelCatalog:
    """The catalog of the router serving the request."""
    return caller(request).context.catalog


CallerDep = Annotated[Caller, Depends(caller)]
CatalogDep = Annotated[ModelCatalog, Depends(catalog)]


def require_admin(request: Request, who: CallerDep) -> Any:
    """403 unless the router's ``is_admin`` says the user is one."""
    if not who.context.is_admin(who.user):
        log.info("refused %s %s: the user is not an admin", request.method, request.url.path)
        raise HTTPException(
            403,
            "only an admin may read or change model configurations (standalone: send "
            "the AUTERITY_AI_ADMIN_TOKEN token; the API token is never admin)",
        )
    return who.user


def http(call: Callable[..., T], *args: Any) -> T:
    """Run a catalog call, turning its ApiError into the HTTP error it names."""
    try:
        return call(*args)
    except ApiError as exc:
        raise HTTPException(exc.status, exc.detail, headers=exc.headers) from exc


async def http_async(call: Awaitable[T]) -> T:
    """:func:`http` for a coroutine."""
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


def body_errors(exc: ValidationError) -> RequestValidationError:
    """A body's validation errors in FastAPI's shape (located under ``body``), no input."""
    errors = [
        {**error, "loc": ("body", *error["loc"])}
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return RequestValidationError(errors)


async def read_model(request: Request, model: type[BodyModel], limit: int) -> BodyModel:
    """A JSON body read with :func:`read_body` (so only after authentication, and never
    more than ``limit`` bytes), validated as ``model``; a 422 in FastAPI's shape if not."""
    raw = await read_body(request, limit)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise body_errors(exc) from None


async def read_json(request: Request, model: type[BodyModel]) -> BodyModel:
    """:func:`read_model` within the serving router's ``max_body_bytes``."""
    return await read_model(request, model, caller(request).context.max_body_bytes)


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of a route that reads its body itself."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def validation_response(exc: RequestValidationError) -> JSONResponse:
    """422 in FastAPI's shape without echoing the input (a body may hold something secret)."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": redact(str(e.get("msg", ""))), "type": e.get("type")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


class RedactingRoute(APIRoute):
    """A route answering its own validation errors with :func:`validation_response`.

    Exception handlers belong to the app, which a host owns; this keeps the router's 422s
    free of request input (keys included) whatever handlers the host installed, or none.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return validation_response(exc)

        return route_handler
