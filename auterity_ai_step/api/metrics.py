"""``GET /metrics``: the Prometheus scrape endpoint of the standalone app.

Authentication follows the rest of the API: the API token or the admin token, and also
``AUTERITY_AI_METRICS_TOKEN``, a token that opens nothing but ``/metrics`` (give that one to
Prometheus: ``authorization: {credentials: ...}`` in its scrape config). With no token at
all, ``--insecure-local`` rules apply (loopback names only). The route runs in a worker
thread: the budget gauges read the ledger while a scrape is answered.
"""

import os
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..telemetry.prometheus import PrometheusMetrics
from .auth import require_bearer

__all__ = ["METRICS_TOKEN_ENV", "add_metrics_route", "metrics_token"]

METRICS_TOKEN_ENV = "AUTERITY_AI_METRICS_TOKEN"  # noqa: S105 - a variable name, not a secret


def metrics_token(given: str | None, min_length: int) -> str | None:
    """The scrape token given, else ``$AUTERITY_AI_METRICS_TOKEN``; ValueError if short."""
    token = given or os.environ.get(METRICS_TOKEN_ENV, "").strip() or None
    if token is not None and len(token) < min_length:
        raise ValueError(f"{METRICS_TOKEN_ENV} must be at least {min_length} characters long")
    return token


def _bearer(tokens: list[str]) -> Callable[..., str]:
    scheme = HTTPBearer(auto_error=False)
    accepted = [t.encode() for t in tokens]

    def authenticate(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scheme)],
    ) -> str:
        require_bearer(request, credentials, accepted)
        return "metrics"

    return authenticate


def add_metrics_route(
    app: FastAPI,
    metrics: PrometheusMetrics,
    *,
    tokens: list[str | None],
    local_auth: Callable[..., Any] | None,
) -> None:
    """Serve ``metrics`` at ``/metrics``: any of ``tokens`` opens it; with none set,
    ``local_auth`` (the insecure-local dependency) guards it."""
    given = [t for t in tokens if t]
    if given:
        auth: Callable[..., Any] = _bearer(given)
    elif local_auth is not None:
        auth = local_auth
    else:  # pragma: no cover - create_app refuses to start without either
        raise ValueError("the metrics endpoint needs a token or insecure-local rules")

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(auth)])
    def scrape() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)
