"""The free health check of an Ollama server: ``GET /api/tags`` instead of a billed call.

An Ollama model is up when its server answers and lists the model as pulled. Errors are
translated as the gateway's are (``provider_errors``) and raised with no chain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import (
    MalformedResponse,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from .provider_errors import translate

if TYPE_CHECKING:
    from ..contract.policy import ModelSpec

__all__ = ["probe_ollama"]


async def probe_ollama(model: ModelSpec, timeout_s: float, *, grace_s: float) -> float:
    """Latency in ms of the tags request; the model's error when it is not up or not pulled.

    ``grace_s`` is added to ``timeout_s`` as a hard bound on the whole request."""
    import httpx

    base = (model.api_base or "http://localhost:11434").rstrip("/")
    started = time.perf_counter()
    failure: ProviderError | None = None
    try:
        async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as client:
            response = await asyncio.wait_for(client.get(f"{base}/api/tags"), timeout_s + grace_s)
        response.raise_for_status()
        tags = response.json()
    except httpx.HTTPStatusError as exc:
        failure = translate(exc, model.name, ())
    except (httpx.TimeoutException, TimeoutError):
        message = f"{model.name}: no answer from {base} within {timeout_s}s"
        failure = ProviderTimeout(message, model=model.name)
    except (httpx.HTTPError, ValueError) as exc:
        message = f"{model.name}: {base} unreachable ({type(exc).__name__}: {exc})"
        failure = ProviderUnavailable(message, model=model.name)
    if failure is not None:
        raise failure from None
    latency_ms = (time.perf_counter() - started) * 1000
    wanted = model.litellm_model.partition("/")[2] or model.litellm_model
    listed = tags.get("models") if isinstance(tags, Mapping) else None
    if not isinstance(listed, list):
        raise MalformedResponse(
            f"{model.name}: {base}/api/tags has no model list", model=model.name
        )
    names = {str(m.get("name", "")) for m in listed if isinstance(m, Mapping)}
    if wanted not in names and f"{wanted}:latest" not in names:
        raise ModelNotFound(f"{model.name}: {wanted!r} is not pulled on {base}", model=model.name)
    return latency_ms
