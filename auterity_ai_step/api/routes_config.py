"""``/api/models/config``: the dynamic model configurations, read and replaced (admin).

Each change, applied or refused with its reasons, is logged at INFO on
``auterity_ai_step.api``; never a key.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from ..errors import redact
from .deps import (
    ADMIN_ONLY,
    STORE_DOWN,
    TOO_LARGE,
    CallerDep,
    CatalogDep,
    RedactingRoute,
    http,
    read_body,
    require_admin,
)
from .models import ConfigRejected, ConfigView, ErrorMessage

__all__ = ["router"]

log = logging.getLogger("auterity_ai_step.api")

router = APIRouter(route_class=RedactingRoute)

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


@router.get(
    "/config",
    summary="Dynamic model configurations (admin)",
    description=(
        "The stored model configurations and, for every live model, which environment "
        "variable holds its key and whether it is set; never a key."
    ),
    responses={**ADMIN_ONLY, **STORE_DOWN},
    dependencies=[Depends(require_admin)],
)
def get_config(work: CatalogDep) -> ConfigView:
    return http(work.config_view)


@router.put(
    "/config",
    summary="Replace the dynamic model configurations (admin)",
    description=(
        "Validated together with the policy file exactly as a file change would be; an "
        "invalid set is a 422 listing each error and changes nothing. A valid set is "
        "written in one transaction and is live for running executors without restart."
    ),
    responses={
        **ADMIN_ONLY,
        **STORE_DOWN,
        **TOO_LARGE,
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
async def put_config(request: Request, who: CallerDep) -> ConfigView:
    try:
        try:
            body = json.loads(await read_body(request, who.context.max_body_bytes))
        except ValueError as exc:
            raise HTTPException(
                422,
                {
                    "message": "invalid model configuration; nothing was changed",
                    "errors": ["the body must be a JSON object"],
                },
            ) from exc
        view = await run_in_threadpool(http, who.context.catalog.put_config, body)
    except HTTPException as exc:
        log.info(
            "refused a model configuration change (HTTP %d): %s",
            exc.status_code,
            _detail_text(exc.detail),
        )
        raise
    log.info("model configurations replaced: %s", redact(", ".join(sorted(body))) or "none stored")
    return view


def _detail_text(detail: Any) -> str:
    """An error body for the log: its message and each error, redacted, on one line."""
    if isinstance(detail, dict):
        parts = [str(detail.get("message", "")), *map(str, detail.get("errors") or ())]
        text = "; ".join(part for part in parts if part)
    else:
        text = str(detail)
    return redact(" ".join(text.split()))
