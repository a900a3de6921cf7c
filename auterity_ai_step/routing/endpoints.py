"""Where one call to a model goes, and with which key: decided before LiteLLM is touched.

A model's key comes from the environment variable the policy names, never from whatever
provider key happens to be set: a model without ``api_key_env`` gets a fixed non-secret
placeholder, so no other provider's key can reach its server. A missing key is refused
here, before any request. HuggingFace endpoints are called as the OpenAI-compatible
servers they are (see :func:`litellm_target`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import AuthenticationFailed

if TYPE_CHECKING:
    from ..contract.policy import ModelSpec

__all__ = [
    "NO_KEY_PROVIDERS",
    "api_key",
    "is_loopback_base",
    "litellm_target",
    "provider_of",
    "secrets_of",
]

_PLACEHOLDER_KEY = "loopback-placeholder-key"
# Sent when the policy names no key variable: without an explicit key LiteLLM would read
# OPENAI_API_KEY / ANTHROPIC_API_KEY / ... itself and send it to this model's api_base.
_NO_KEY = "no-key-configured"
#: Providers that take no key (a local Ollama server).
NO_KEY_PROVIDERS = frozenset({"ollama", "ollama_chat"})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_HF_ROUTER = "https://router.huggingface.co"


def provider_of(model: ModelSpec) -> str:
    """LiteLLM's provider for the model: its ``litellm_model`` prefix, else its provider."""
    prefix, sep, _ = model.litellm_model.partition("/")
    return prefix if sep else model.provider


def is_loopback_base(api_base: str | None) -> bool:
    host = urlsplit(api_base).hostname if api_base else None
    return host is not None and (host in _LOOPBACK or host.startswith("127."))


def api_key(model: ModelSpec) -> str | None:
    """The key from the environment; a placeholder for loopback; refuse before calling.

    A model without ``api_key_env`` gets a fixed non-secret placeholder, never None, so no
    other provider's key from the environment can reach its server.
    """
    keyless = provider_of(model) in NO_KEY_PROVIDERS or model.provider in NO_KEY_PROVIDERS
    if not model.api_key_env:
        return None if keyless else _NO_KEY
    key = os.environ.get(model.api_key_env)
    if key:
        return key
    if keyless:
        return None
    if is_loopback_base(model.api_base):
        return _PLACEHOLDER_KEY
    raise AuthenticationFailed(
        f"{model.api_key_env} is not set: export it to call {model.name} "
        f"({model.provider}); no request was made",
        model=model.name,
    )


def secrets_of(key: str | None) -> list[str]:
    """What to redact from a failed call's error: the key, unless it is a placeholder."""
    return [key] if key and key not in (_PLACEHOLDER_KEY, _NO_KEY) else []


def litellm_target(model: ModelSpec) -> tuple[str, str | None]:
    """The LiteLLM model name and api_base one call uses.

    HuggingFace endpoints (Inference Endpoints, TGI, the serverless router) speak the
    OpenAI chat protocol under ``/v1``, and we call them that way: LiteLLM's own
    ``huggingface/`` provider looks each model up on huggingface.co (its config.json, its
    provider mapping) with a blocking request after every call, which is slow, leaks
    traffic, and stalls the event loop where the hub is unreachable.
    """
    if provider_of(model) != "huggingface":
        return model.litellm_model, model.api_base
    name = model.litellm_model.partition("/")[2]
    base = (model.api_base or _HF_ROUTER).rstrip("/")
    return f"openai/{name}", base if base.endswith("/v1") else f"{base}/v1"
