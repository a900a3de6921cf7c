"""``/api/models/status``: every model's live status, as a list and as a stream.

The stream is server-sent events (``GET /status/stream``): one connection, an event only
when a model's status changes, and a comment every 15 s to keep proxies from closing it.
Browsers read it with ``fetch`` (not ``EventSource``, which cannot send the
``Authorization`` header), so the token never goes into a URL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from .catalog import ModelCatalog
from .console_models import ModelStatusEvent
from .deps import CatalogDep, RedactingRoute

__all__ = ["KEEPALIVE_S", "router", "statuses"]

KEEPALIVE_S = 15.0

router = APIRouter(route_class=RedactingRoute)


def statuses(work: ModelCatalog) -> list[ModelStatusEvent]:
    """Each model's last known status, with why it is down (last error or quarantine)."""
    return [
        ModelStatusEvent(
            model=seen.model,
            status=seen.status,
            circuit=seen.circuit,
            latency_ms=None if seen.latency_ms is None else round(seen.latency_ms, 1),
            checked_at=seen.checked_at,
            reason=reason or seen.error,
        )
        for seen, reason in work.core.statuses()
    ]


async def _stream(work: ModelCatalog, request: Request, interval_s: float) -> AsyncIterator[str]:
    """``status`` events when anything changed, keep-alive comments in between."""
    last: str | None = None
    quiet = 0.0
    while not await request.is_disconnected():
        snapshot = json.dumps(
            [json.loads(e.model_dump_json()) for e in statuses(work)], sort_keys=True
        )
        if snapshot != last:
            last, quiet = snapshot, 0.0
            yield f"event: status\ndata: {work.redact(snapshot)}\n\n"
        elif quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await _pause(request, interval_s)
        quiet += interval_s


async def _pause(request: Request, seconds: float) -> None:
    """Sleep ``seconds``, ending early when the client has gone (checked every 0.2 s)."""
    left = seconds
    while left > 0 and not await request.is_disconnected():
        await asyncio.sleep(min(0.2, left))
        left -= 0.2


@router.get(
    "/status",
    summary="Every model's live status",
    description=(
        "Each model's last known status, latency, last check, circuit state and the "
        "reason it is down; the same list the status stream sends."
    ),
)
def status(work: CatalogDep) -> list[ModelStatusEvent]:
    return statuses(work)


@router.get(
    "/status/stream",
    summary="Server-sent events of model status",
    description=(
        "A `text/event-stream`: a `status` event carrying the `/status` list at once and "
        "whenever it changes, and a comment every 15 s. Read it with fetch and the "
        "Authorization header (EventSource cannot send it; never put a token in a URL)."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def status_stream(
    request: Request,
    work: CatalogDep,
    interval_s: Annotated[
        float, Query(ge=0.2, le=60, description="Seconds between looks for a change")
    ] = 2.0,
) -> StreamingResponse:
    return StreamingResponse(
        _stream(work, request, interval_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
