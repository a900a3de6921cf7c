"""The ``models`` section: grouped or flat entries, seed or rich form, onto ModelSpec.

Reads one model entry at a time (aliases, provider defaults, prices, health settings, the
key variable's name), and lays database overrides over a file's entries key by key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import is_secret_key, looks_like_secret
from .policy_fields import build_section, money_value
from .policy_format import (
    HEALTH_KEY,
    HEALTH_KEYS,
    LITELLM_PREFIX,
    MAX_OUTPUT_TOKENS_DEFAULT_CAP,
    MODEL_ALIASES,
    PROVIDER_KEY_ENV,
    derive_quality,
)
from .policy_model import ModelSpec

__all__ = ["file_models", "flatten_models", "merge_override", "normalise_model"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MONEY_KEYS = ("input_cost_per_1k", "output_cost_per_1k")
_INT: TypeAdapter[int] = TypeAdapter(int)
_MODEL_KEYS = (
    frozenset(ModelSpec.model_fields)
    | {group[0] for group in MODEL_ALIASES}
    | {HEALTH_KEY, "api_key"}
)


def _is_group(entry: Any) -> bool:
    """A provider group holds model entries; a model entry has at least one setting key."""
    return (
        isinstance(entry, Mapping)
        and bool(entry)
        and not any(str(key) in _MODEL_KEYS for key in entry)
    )


def flatten_models(raw: Any, errors: list[str]) -> dict[str, tuple[str, str | None, Any]]:
    """``{name: (path, group provider, entry)}`` from grouped or flat ``models``."""
    if not isinstance(raw, Mapping) or not raw:
        errors.append("models: must be a non-empty mapping of model name to settings")
        return {}
    flat: dict[str, tuple[str, str | None, Any]] = {}
    for key, entry in raw.items():
        items = entry.items() if _is_group(entry) else [(key, entry)]
        group = str(key) if _is_group(entry) else None
        for name, spec in items:
            path = f"models.{key}.{name}" if group else f"models.{name}"
            if name in flat:
                errors.append(f"{path}: model name {name!r} is defined twice")
            flat[str(name)] = (path, group, spec)
    return flat


def normalise_model(
    name: str, path: str, group: str | None, entry: Any, errors: list[str]
) -> dict[str, Any] | None:
    """Map one entry (seed or rich form) onto ModelSpec's fields, checking prices."""
    if not isinstance(entry, Mapping):
        errors.append(f"{path}: must be a mapping of model settings")
        return None
    spec = dict(entry)
    if "name" in spec:
        errors.append(
            f"{path}.name: not allowed: a model's name is its key in models "
            "(rename the key instead)"
        )
        del spec["name"]
    out: dict[str, Any] = {"name": name}
    provider = spec.pop("provider", group)
    if not provider:
        errors.append(f"{path}.provider: missing; name the provider (openai, anthropic, ...)")
        return None
    out["provider"] = provider = str(provider)
    _resolve_aliases(spec, path, errors)
    single = spec.pop("cost_per_1k_tokens", None)
    for key in _MONEY_KEYS:
        if key in spec and single is not None:
            errors.append(f"{path}.cost_per_1k_tokens: give it or {key}, not both")
        out[key] = money_value(spec.pop(key, single), f"{path}.{key}", errors)
    _unfold_health(spec, path, errors)
    spec.setdefault("litellm_model", f"{LITELLM_PREFIX.get(provider, provider)}/{name}")
    _check_key_env(spec, path, provider, errors)
    if "max_output_tokens" not in spec:
        context = _window(spec.get("context_window"))
        # Without a usable context_window (its own error is reported) the placeholder keeps
        # a second, spurious error off max_output_tokens; the model is not built either way.
        cap = MAX_OUTPUT_TOKENS_DEFAULT_CAP
        spec["max_output_tokens"] = cap if context is None else min(context, cap)
    spec.setdefault("quality", derive_quality(out[_MONEY_KEYS[0]], out[_MONEY_KEYS[1]]))
    out.update(spec)
    return out


def _resolve_aliases(spec: dict[str, Any], path: str, errors: list[str]) -> None:
    """The seed format's names onto the rich form's: ``endpoint`` is ``api_base``, and
    ``max_tokens`` is ``context_window`` (giving both of a pair is an error)."""
    if "endpoint" in spec:
        if "api_base" in spec:
            errors.append(f"{path}.endpoint: give api_base or its alias endpoint, not both")
        spec.setdefault("api_base", spec.pop("endpoint"))
    if "max_tokens" in spec:
        if "context_window" in spec:
            errors.append(f"{path}.max_tokens: give context_window or max_tokens, not both")
        spec.setdefault("context_window", spec.pop("max_tokens"))


def _unfold_health(spec: dict[str, Any], path: str, errors: list[str]) -> None:
    """Move the entry's health settings onto ModelSpec's own fields."""
    health = spec.pop(HEALTH_KEY, None)
    if isinstance(health, Mapping):
        for key, value in health.items():
            target = HEALTH_KEYS.get(str(key))
            if target is None:
                errors.append(
                    f"{path}.{HEALTH_KEY}.{key}: unknown key (allowed: {', '.join(HEALTH_KEYS)})"
                )
            else:
                spec.setdefault(target, value)
    elif health is not None:
        errors.append(f"{path}.{HEALTH_KEY}: must be a mapping with {' and/or '.join(HEALTH_KEYS)}")


def _check_key_env(spec: dict[str, Any], path: str, provider: str, errors: list[str]) -> None:
    """``api_key_env`` (the provider's usual one by default) must name a variable, never
    hold the key itself; a bad one is dropped, its error never echoing the value."""
    spec.setdefault("api_key_env", PROVIDER_KEY_ENV.get(provider))
    env = spec["api_key_env"]
    if env is not None and not (isinstance(env, str) and _ENV_NAME.match(env)):
        errors.append(
            f"{path}.api_key_env: must be the NAME of an environment variable "
            "(letters, digits, underscore), e.g. OPENAI_API_KEY, never the key itself"
        )
        spec["api_key_env"] = None
    elif env is not None and looks_like_secret(env):  # a key that is also a valid name: hf_...
        errors.append(
            f"{path}.api_key_env: looks like an API key, not the NAME of an environment "
            f"variable; put the key in a variable (e.g. {_key_env_example(provider)}) "
            "and name that"
        )
        spec["api_key_env"] = None


def _key_env_example(provider: str) -> str:
    """A variable name to suggest for the provider's key, e.g. HUGGINGFACE_API_KEY."""
    default = PROVIDER_KEY_ENV.get(provider)
    if default is not None:
        return default
    stem = re.sub(r"[^A-Za-z0-9]+", "_", provider).strip("_").upper()
    return f"{stem}_API_KEY" if stem and not stem[0].isdigit() else "PROVIDER_API_KEY"


def _window(value: Any) -> int | None:
    """``context_window`` as ModelSpec will read it (lax int, >= 1); None if it will not."""
    try:
        window = _INT.validate_python(value)
    except ValidationError:
        return None
    return window if window >= 1 else None


def merge_override(base: Any, extra: Mapping[str, Any]) -> Any:
    """Database settings over a file entry: each key replaces only what it names.

    An alias the file used (``cost_per_1k_tokens``: both prices) is spread onto its fields
    first, so overriding ``input_cost_per_1k`` alone keeps the file's output price; an alias
    in ``extra`` replaces every field it stands for. Giving an alias and one of its fields
    together (in the file or in ``extra``) stays the error it always is.
    """
    if not isinstance(base, Mapping):
        return extra
    merged = dict(base)
    for alias, *fields in MODEL_ALIASES:
        if not any(key in extra for key in (alias, *fields)):
            continue
        if alias in merged and not any(key in merged for key in fields):
            value = merged.pop(alias)
            merged.update(dict.fromkeys(fields, value))
        if alias in extra:
            for key in fields:
                merged.pop(key, None)
    merged.update(extra)
    return merged


def file_models(flat: Mapping[str, tuple[str, str | None, Any]]) -> dict[str, ModelSpec]:
    """The policy file's own models (their errors are reported by the main pass)."""
    scratch: list[str] = []
    out: dict[str, ModelSpec] = {}
    for name, (path, group, entry) in flat.items():
        if isinstance(entry, Mapping):
            entry = {k: v for k, v in entry.items() if not is_secret_key(str(k))}
        spec = normalise_model(name, path, group, entry, scratch)
        built = build_section(ModelSpec, spec, path, scratch) if spec is not None else None
        if built is not None:
            out[name] = built
    return out
