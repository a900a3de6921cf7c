"""The one place that talks to LiteLLM: one call in, one result or one ``ProviderError`` out.

LiteLLM is imported lazily (first call), offline (bundled price map), with its own retries
off so the tenacity layer is the only one that retries. Its exceptions are translated into
our tree at this boundary (rules in ``provider_errors`` and ``error_table``) and raised with
no chain at all: LiteLLM's raw exception can hold the API key, so only the translated,
redacted details travel on.

What needs no LiteLLM sits beside it: the request and result types and the reading of an
answer (``completion``), where a call goes and with which key (``endpoints``), and the free
health check of an Ollama server (``ollama_probe``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import ProviderError
from .completion import CompletionRequest, CompletionResult, Gateway, completion_result
from .endpoints import NO_KEY_PROVIDERS, api_key, litellm_target, provider_of, secrets_of
from .ollama_probe import probe_ollama
from .provider_errors import parse_retry_after, translate

if TYPE_CHECKING:
    from ..contract.policy import ModelSpec

__all__ = [
    "PROBE_MAX_TOKENS",
    "PROBE_MESSAGES",
    "CompletionRequest",
    "CompletionResult",
    "Gateway",
    "complete",
    "count_tokens",
    "is_litellm_loaded",
    "litellm_price",
    "parse_retry_after",
    "probe",
    "probe_is_billed",
    "tokenizer_family",
    "tokenizer_ratio",
]

_GRACE_S = 0.5

_litellm: Any = None
_lock = threading.Lock()
_registered: set[str] = set()


def _lib() -> Any:
    """Import and configure LiteLLM once, offline and quiet."""
    global _litellm
    if _litellm is None:
        with _lock:
            if _litellm is None:
                os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
                import litellm

                litellm.suppress_debug_info = True
                litellm.telemetry = False
                # Never fetch a tokenizer from the HuggingFace hub: count with the default.
                litellm.disable_hf_tokenizer_download = True
                _litellm = litellm
    return _litellm


async def preload() -> None:
    """Import LiteLLM in a worker thread, so the ~3 s import never blocks the event loop
    and never counts against a call's or a health check's timeout."""
    if _litellm is None:
        await asyncio.to_thread(_lib)


def is_litellm_loaded() -> bool:
    """Whether this module has imported LiteLLM yet (it waits for the first call)."""
    return _litellm is not None


def _register(lib: Any, model: ModelSpec) -> None:
    """Give LiteLLM a price entry for a model it does not know.

    Without one, LiteLLM's success logging looks the model up on every call, and for
    Ollama does so with a *blocking* HTTP request to ``/api/show`` inside the event loop.
    """
    key = litellm_target(model)[0]
    if key in _registered or key in lib.model_cost or key.lower() in lib.model_cost:
        return
    per_token = [
        float(Decimal(p) / 1000) if p is not None else 0.0
        for p in (model.input_cost_per_1k, model.output_cost_per_1k)
    ]
    entry = {
        "input_cost_per_token": per_token[0],
        "output_cost_per_token": per_token[1],
        "max_tokens": model.max_output_tokens,
        "max_input_tokens": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "litellm_provider": key.partition("/")[0],
        "mode": "chat",
    }
    # LiteLLM warns that a custom entry has no cache prices; we bill none, so hush it.
    litellm_log = logging.getLogger("LiteLLM")
    level = litellm_log.level
    litellm_log.setLevel(logging.ERROR)
    try:
        lib.register_model({key: entry})
    finally:
        litellm_log.setLevel(level)
    _registered.add(key)


def _supports_json(lib: Any, model: ModelSpec) -> bool:
    try:
        params = lib.get_supported_openai_params(
            model=model.litellm_model.partition("/")[2] or model.litellm_model,
            custom_llm_provider=provider_of(model),
        )
    except Exception:
        return False
    return bool(params) and "response_format" in params


async def complete(request: CompletionRequest) -> CompletionResult:
    """One provider call: no retries here, every failure a ``ProviderError`` subclass."""
    return _raise_failure(await _call(request, allow_truncated=False))


def _raise_failure(outcome: CompletionResult | ProviderError) -> CompletionResult:
    """Raise a failed call's error here, where no local holds the key.

    Raised outside any ``except`` block, so neither ``__cause__`` nor ``__context__`` holds
    LiteLLM's exception; and from this frame, so the traceback's frames (which error
    reporters such as Sentry record with their locals) never include ``_call``'s, whose
    ``key`` and ``kwargs`` hold the key.
    """
    if isinstance(outcome, ProviderError):
        raise outcome.with_traceback(None)
    return outcome


async def _call(
    request: CompletionRequest, *, allow_truncated: bool
) -> CompletionResult | ProviderError:
    """One call; a failure is returned translated, for :func:`_raise_failure` to raise."""
    model = request.model
    key = api_key(model)
    await preload()
    lib = _lib()
    _register(lib, model)
    litellm_model, api_base = litellm_target(model)
    kwargs: dict[str, Any] = {
        "model": litellm_model,
        "messages": [dict(m) for m in request.messages],
        "timeout": request.timeout_s,
        "num_retries": 0,
        "max_retries": 0,
    }
    if api_base:
        kwargs["api_base"] = api_base
    if key is not None:
        kwargs["api_key"] = key
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.max_tokens is not None:
        kwargs["max_tokens"] = request.max_tokens
    if request.json_mode and _supports_json(lib, model):
        kwargs["response_format"] = {"type": "json_object"}
    secrets = secrets_of(key)
    started = time.perf_counter()
    try:
        response = await asyncio.wait_for(lib.acompletion(**kwargs), request.timeout_s + _GRACE_S)
    except Exception as exc:
        return translate(exc, model.name, secrets, timeout_s=request.timeout_s)
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        return completion_result(
            response,
            request,
            latency_ms,
            allow_truncated=allow_truncated,
            count_tokens=count_tokens,
        )
    except ProviderError as failure:
        return failure


# -- offline helpers ---------------------------------------------------------------------


def count_tokens(model: ModelSpec, messages: Sequence[Mapping[str, str]]) -> int:
    """Prompt tokens counted offline with LiteLLM's tokenizer for the model (or its default)."""
    frozen = tuple((str(m.get("role", "")), str(m.get("content", ""))) for m in messages)
    return _count_cached(model.litellm_model, frozen)


@lru_cache(maxsize=4096)
def _count_cached(litellm_model: str, messages: tuple[tuple[str, str], ...]) -> int:
    lib = _lib()
    payload = [{"role": role, "content": content} for role, content in messages]
    return int(lib.token_counter(model=litellm_model, messages=payload))


# Text the tokenizer ratio is measured on: prose, numbers and a little JSON, as steps send.
_RATIO_SAMPLE = (
    "The customer wrote in about the brake service booked for 14 March: the rear pads were "
    "replaced, but the invoice (No. 20931, total $412.80) lists the front ones too. Please "
    "check the work order, explain the difference politely and offer a refund if we erred.\n"
    '{"vehicle": {"make": "Volvo", "model": "XC60", "year": 2019, "mileage_km": 84210}, '
    '"concerns": ["squeal when braking", "warning light on dashboard"], "priority": "high"}\n'
    "Summarise the conversation in three sentences and suggest the next step for the team."
)
# Tokenizers LiteLLM ships in its wheel (no download): family -> bundled file.
_BUNDLED_TOKENIZERS = {
    "anthropic": "anthropic_tokenizer.json",
    "deepseek": "deepseek_tokenizer.json",
}


def tokenizer_family(litellm_model: str, provider: str = "") -> str | None:
    """The tokenizer LiteLLM has offline for a model, or None when it has none of its own.

    ``openai`` (tiktoken) for OpenAI and Azure models; ``anthropic`` and ``deepseek`` from
    the files LiteLLM bundles. Any other model would be counted with tiktoken as a stand-in,
    which says nothing about its real token counts, so it has no family.
    """
    prefix, sep, name = litellm_model.partition("/")
    name = name if sep else litellm_model
    family_provider = prefix if sep else provider
    if family_provider in ("openai", "azure", "text-completion-openai"):
        return "openai"
    lowered = name.lower()
    for family in _BUNDLED_TOKENIZERS:
        if family in lowered or family_provider == family:
            return family
    return None


@lru_cache(maxsize=8)
def _sample_tokens(family: str) -> int:
    lib = _lib()
    if family == "openai":
        return int(lib.token_counter(model="gpt-4o", text=_RATIO_SAMPLE))
    from importlib import resources

    data = resources.files("litellm.litellm_core_utils.tokenizers")
    text = data.joinpath(_BUNDLED_TOKENIZERS[family]).read_text(encoding="utf-8")
    tokenizer = lib.utils.create_tokenizer(text)
    return int(lib.token_counter(custom_tokenizer=tokenizer, text=_RATIO_SAMPLE))


def tokenizer_ratio(source: str | None, target: str | None) -> Decimal | None:
    """How many tokens ``target``'s tokenizer makes of text ``source``'s made one of.

    Families as :func:`tokenizer_family` names them; None when either is unknown. Measured
    on one fixed sample text, so it is an estimate for any other text.
    """
    if source is None or target is None:
        return None
    if source == target:
        return Decimal(1)
    return Decimal(_sample_tokens(target)) / Decimal(_sample_tokens(source))


def litellm_price(model: ModelSpec) -> tuple[Decimal, Decimal] | None:
    """Per-1k (input, output) prices from LiteLLM's bundled map; None when it has none."""
    lib = _lib()
    name = model.litellm_model
    for key in (name, name.partition("/")[2]):
        if not key or key in _registered:
            continue
        entry = lib.model_cost.get(key)
        if not isinstance(entry, Mapping):
            continue
        inp, out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
        if inp is None or out is None:
            continue
        prices = Decimal(str(inp)) * 1000, Decimal(str(out)) * 1000
        if all(p.is_finite() and p >= 0 for p in prices):  # a broken entry is no price
            return prices
    return None


#: The completion a health check sends (a billed call): these messages, one output token.
PROBE_MESSAGES: tuple[Mapping[str, str], ...] = ({"role": "user", "content": "ping"},)
PROBE_MAX_TOKENS = 1


def probe_is_billed(model: ModelSpec) -> bool:
    """Whether :func:`probe` makes a completion call (billed) rather than a free tags GET."""
    return not (provider_of(model) in NO_KEY_PROVIDERS or model.provider == "ollama")


async def probe(model: ModelSpec, timeout_s: float) -> float:
    """The cheapest real request (Ollama: GET /api/tags; others: 1 token); latency in ms."""
    if not probe_is_billed(model):
        return await probe_ollama(model, timeout_s, grace_s=_GRACE_S)
    request = CompletionRequest(
        model=model,
        messages=PROBE_MESSAGES,
        max_tokens=PROBE_MAX_TOKENS,
        timeout_s=timeout_s,
    )
    result = _raise_failure(await _call(request, allow_truncated=True))
    return result.latency_ms
