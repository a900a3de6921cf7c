"""Parsing a model policy document into the typed Policy.

A policy file comes in two shapes, both accepted by :func:`parse_policy`:

* the original task's seed format: ``models`` grouped by provider, one
  ``cost_per_1k_tokens`` per model (it prices input and output alike) and ``max_tokens``
  meaning the context window;
* a richer form, grouped by provider or flat, with ``litellm_model``, separate input/output
  prices, ``context_window``, ``max_output_tokens``, ``quality``, ``api_base`` (alias
  ``endpoint``), ``api_key_env`` and health settings, plus top-level ``retry`` and ``circuit``.

Everything is checked once here; the result is frozen and typed, so nothing downstream sees a
raw dict. Error messages name the path and the fix and never echo secret values.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import PolicyError, is_secret_key, looks_like_secret
from ..settings import allowed_api_bases, allowed_key_envs
from .policy_model import (
    CircuitSettings,
    CostControls,
    ModelSpec,
    Policy,
    RetrySettings,
    RoutingRules,
    check_timezone,
)
from .policy_reach import check_api_base_schemes, check_stored_reach

__all__ = [
    "HEALTH_KEY",
    "HEALTH_KEYS",
    "LITELLM_PREFIX",
    "MAX_OUTPUT_TOKENS_DEFAULT_CAP",
    "MODEL_ALIASES",
    "PROVIDER_KEY_ENV",
    "QUALITY_FREE",
    "QUALITY_TIERS",
    "QUALITY_TOP",
    "QUALITY_UNPRICED",
    "SECTION_MODELS",
    "TOP_LEVEL_KEYS",
    "derive_quality",
    "parse_policy",
]

# The file-format knowledge below is public so the reference docs are generated from it.

#: Provider -> LiteLLM prefix of the default ``litellm_model`` (``<prefix>/<model name>``);
#: another provider's name is its own prefix.
LITELLM_PREFIX: Mapping[str, str] = MappingProxyType(
    {
        "openai": "openai",
        "anthropic": "anthropic",
        "ollama": "ollama_chat",
        "huggingface": "huggingface",
        "cohere": "cohere_chat",
    }
)
#: Provider -> default ``api_key_env``; a provider not listed (e.g. ollama) sends no key.
PROVIDER_KEY_ENV: Mapping[str, str] = MappingProxyType(
    {
        "openai": "OPENAI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "huggingface": "HUGGINGFACE_API_KEY",
        "cohere": "COHERE_API_KEY",
    }
)
#: The model-entry key whose mapping holds the :data:`HEALTH_KEYS`.
HEALTH_KEY = "health"
#: ``health:`` sub-key of a model entry -> the ModelSpec field it sets.
HEALTH_KEYS: Mapping[str, str] = MappingProxyType(
    {"timeout_s": "health_timeout_s", "slow_ms": "slow_ms"}
)
#: Alias keys of a model entry: ``(alias, field it sets, ...)``.
MODEL_ALIASES: tuple[tuple[str, ...], ...] = (
    ("cost_per_1k_tokens", "input_cost_per_1k", "output_cost_per_1k"),
    ("max_tokens", "context_window"),
    ("endpoint", "api_base"),
)
#: Without ``max_output_tokens`` a model gets ``min(context_window, this)``.
MAX_OUTPUT_TOKENS_DEFAULT_CAP = 4096
#: :func:`derive_quality`'s tiers: (blended price per 1k tokens below which, quality).
QUALITY_TIERS: tuple[tuple[Decimal, int], ...] = (
    (Decimal("0.0005"), 5),
    (Decimal("0.002"), 6),
    (Decimal("0.01"), 7),
    (Decimal("0.03"), 8),
)
QUALITY_FREE = 3  #: derived quality of a free (blended price 0) model
QUALITY_TOP = 9  #: derived quality at or above the last tier's bound
QUALITY_UNPRICED = 5  #: derived quality of a model without both prices
#: Top-level key -> the model its content is validated into (``models``: one per entry).
SECTION_MODELS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "models": ModelSpec,
        "routing_rules": RoutingRules,
        "cost_controls": CostControls,
        "retry": RetrySettings,
        "circuit": CircuitSettings,
    }
)
TOP_LEVEL_KEYS: tuple[str, ...] = tuple(SECTION_MODELS)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MONEY_KEYS = ("input_cost_per_1k", "output_cost_per_1k")
_INT: TypeAdapter[int] = TypeAdapter(int)
_MODEL_KEYS = (
    frozenset(ModelSpec.model_fields)
    | {group[0] for group in MODEL_ALIASES}
    | {HEALTH_KEY, "api_key"}
)
# What the unknown-key error of a model entry lists after the ModelSpec fields.
_ALIAS_KEYS = (*(group[0] for group in MODEL_ALIASES), HEALTH_KEY)


def derive_quality(input_cost: Decimal | None, output_cost: Decimal | None) -> int:
    """Default ``quality`` (1..10) when a model entry gives none.

    Price is the only signal a policy always has, so the blended price per 1k tokens
    ((input + output) / 2) picks a tier: free (local) 3, under $0.0005 5, under $0.002 6,
    under $0.01 7, under $0.03 8, else 9. Unpriced models get the middle, 5.
    """
    if input_cost is None or output_cost is None:
        return QUALITY_UNPRICED
    blended = (input_cost + output_cost) / 2
    if blended == 0:
        return QUALITY_FREE
    for bound, quality in QUALITY_TIERS:
        if blended < bound:
            return quality
    return QUALITY_TOP


def _find_secrets(value: Any, path: str, errors: list[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_secret_key(key):
                errors.append(
                    f"{sub}: a literal API key is not allowed in the policy; put the key in an "
                    "environment variable and name it with api_key_env "
                    "(e.g. api_key_env: OPENAI_API_KEY)"
                )
            else:
                _find_secrets(item, sub, errors)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find_secrets(item, f"{path}[{i}]", errors)


def _money(value: Any, path: str, errors: list[str]) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        errors.append(f"{path}: must be a number of US dollars, e.g. 0.002")
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors.append(f"{path}: must be a number of US dollars, e.g. 0.002")
        return None
    if not amount.is_finite() or amount < 0:
        errors.append(f"{path}: must be >= 0 US dollars (got a negative or non-finite number)")
        return None
    return amount


def _is_group(entry: Any) -> bool:
    """A provider group holds model entries; a model entry has at least one setting key."""
    return (
        isinstance(entry, Mapping)
        and bool(entry)
        and not any(str(key) in _MODEL_KEYS for key in entry)
    )


def _flatten_models(raw: Any, errors: list[str]) -> dict[str, tuple[str, str | None, Any]]:
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


def _normalise_model(
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
    if "endpoint" in spec:
        if "api_base" in spec:
            errors.append(f"{path}.endpoint: give api_base or its alias endpoint, not both")
        spec.setdefault("api_base", spec.pop("endpoint"))
    if "max_tokens" in spec:
        if "context_window" in spec:
            errors.append(f"{path}.max_tokens: give context_window or max_tokens, not both")
        spec.setdefault("context_window", spec.pop("max_tokens"))
    single = spec.pop("cost_per_1k_tokens", None)
    for key in _MONEY_KEYS:
        if key in spec and single is not None:
            errors.append(f"{path}.cost_per_1k_tokens: give it or {key}, not both")
        out[key] = _money(spec.pop(key, single), f"{path}.{key}", errors)
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
    spec.setdefault("litellm_model", f"{LITELLM_PREFIX.get(provider, provider)}/{name}")
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
    if "max_output_tokens" not in spec:
        context = _window(spec.get("context_window"))
        # Without a usable context_window (its own error is reported) the placeholder keeps
        # a second, spurious error off max_output_tokens; the model is not built either way.
        cap = MAX_OUTPUT_TOKENS_DEFAULT_CAP
        spec["max_output_tokens"] = cap if context is None else min(context, cap)
    spec.setdefault("quality", derive_quality(out[_MONEY_KEYS[0]], out[_MONEY_KEYS[1]]))
    out.update(spec)
    return out


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


def _build(cls: type[BaseModel], data: Any, path: str, errors: list[str]) -> Any:
    """Construct a pydantic model, turning its errors into ``path.field: reason`` lines."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        errors.append(f"{path}: must be a mapping")
        return None
    try:
        return cls.model_validate(dict(data))
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False, include_context=False):
            loc = ".".join(str(part) for part in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(k for k in cls.model_fields if k not in ("name", "version"))
                if cls is ModelSpec:
                    allowed += "; aliases: " + ", ".join(_ALIAS_KEYS)
                msg = f"unknown key (allowed: {allowed})"
            errors.append(f"{path}.{loc}: {msg}")
        return None


def _check_names(routing: RoutingRules, known: Collection[str], errors: list[str]) -> None:
    listed = ", ".join(known)
    refs: list[tuple[str, str]] = [("routing_rules.default_model", routing.default_model)]
    refs += [
        (f"routing_rules.fallback_chain[{i}]", n) for i, n in enumerate(routing.fallback_chain)
    ]
    for task, names in routing.task_preferences.items():
        refs += [(f"routing_rules.task_preferences.{task}[{i}]", n) for i, n in enumerate(names)]
    for path, name in refs:
        if name not in known:
            errors.append(f"{path}: {name!r} is not a known model (known: {listed})")


def _cost_controls(raw: Any, errors: list[str]) -> Any:
    """Money as Decimal, the alert threshold as a 0..100 percentage and a time zone this
    host can load (else every budget check would fail at run time), with clear errors."""
    if not isinstance(raw, Mapping):
        return raw
    out = dict(raw)
    for key in ("daily_budget", "per_request_limit"):
        if out.get(key) is not None:
            out[key] = _money(out[key], f"cost_controls.{key}", errors)
            if out[key] is None:
                del out[key]
    if "alert_threshold" in out:
        value = out.pop("alert_threshold")
        try:
            threshold = Decimal(str(value)) if not isinstance(value, bool) else None
        except InvalidOperation:
            threshold = None
        if threshold is None or not threshold.is_finite() or not 0 <= threshold <= 100:
            errors.append(
                "cost_controls.alert_threshold: must be a percentage of daily_budget "
                "between 0 and 100 (e.g. 80)"
            )
        else:
            out["alert_threshold"] = threshold
    zone = out.get("timezone")
    if isinstance(zone, str):  # another type gets pydantic's "should be a valid string"
        try:
            check_timezone(zone)
        except ValueError as exc:
            errors.append(f"cost_controls.timezone: {exc}")
            del out["timezone"]
    return out


def _merge_override(base: Any, extra: Mapping[str, Any]) -> Any:
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


def _file_models(flat: Mapping[str, tuple[str, str | None, Any]]) -> dict[str, ModelSpec]:
    """The policy file's own models (their errors are reported by the main pass)."""
    scratch: list[str] = []
    out: dict[str, ModelSpec] = {}
    for name, (path, group, entry) in flat.items():
        if isinstance(entry, Mapping):
            entry = {k: v for k, v in entry.items() if not is_secret_key(str(k))}
        spec = _normalise_model(name, path, group, entry, scratch)
        built = _build(ModelSpec, spec, path, scratch) if spec is not None else None
        if built is not None:
            out[name] = built
    return out


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return str(value.normalize())
    return value


def parse_policy(
    data: Mapping[str, Any],
    *,
    source: str = "<memory>",
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Policy:
    """Validate a policy document (plus database ``overrides``) into a frozen Policy.

    ``overrides`` maps a model name to its settings: an existing model's keys are replaced
    one by one, a new name adds a model (it then needs ``provider``). An overridden model
    may only use the key variables and API bases the file's models use or the operator
    allows (:mod:`.policy_reach`). All problems are collected into one PolicyError whose
    ``errors`` lists them.
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise PolicyError(f"{source}: the policy must be a mapping at the top level")
    _find_secrets(data, "", errors)
    _find_secrets(overrides or {}, "overrides", errors)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            errors.append(f"{key}: unknown top-level key (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    flat = _flatten_models(data.get("models"), errors)
    file_flat = dict(flat)
    for name, extra in (overrides or {}).items():
        if not isinstance(extra, Mapping):
            errors.append(f"overrides.{name}: must be a mapping of model settings")
            continue
        if "name" in extra:
            errors.append(
                f"overrides.{name}.name: not allowed: a model's name is its key in the "
                "overrides (rename the key instead)"
            )
            extra = {k: v for k, v in extra.items() if k != "name"}
        path, group, entry = flat.get(name, (f"overrides.{name}", None, {}))
        flat[name] = (path, group, _merge_override(entry, extra))
    models: dict[str, ModelSpec] = {}
    for name, (path, group, entry) in flat.items():
        if isinstance(entry, Mapping):  # literal keys were reported above, without values
            entry = {k: v for k, v in entry.items() if not is_secret_key(str(k))}
        spec = _normalise_model(name, path, group, entry, errors)
        built = _build(ModelSpec, spec, path, errors) if spec is not None else None
        if built is not None:
            models[name] = built
    check_api_base_schemes(models, {n: path for n, (path, _, _) in flat.items()}, errors)
    if overrides:
        check_stored_reach(
            _file_models(file_flat),
            models,
            [name for name in overrides if isinstance(overrides[name], Mapping)],
            key_envs=allowed_key_envs(),
            api_bases=allowed_api_bases(),
            errors=errors,
        )
    rules = data.get("routing_rules")
    routing = _build(RoutingRules, rules, "routing_rules", errors) if rules is not None else None
    if rules is None:
        errors.append("routing_rules.default_model: missing; name the model to use by default")
    controls = _build(
        CostControls, _cost_controls(data.get("cost_controls"), errors), "cost_controls", errors
    )
    retry = _build(RetrySettings, data.get("retry"), "retry", errors)
    circuit = _build(CircuitSettings, data.get("circuit"), "circuit", errors)
    if routing is not None and flat:
        _check_names(routing, flat, errors)
    if errors or routing is None:
        raise PolicyError(f"invalid model policy {source}: " + "; ".join(errors), errors)
    body = {
        "models": {n: m.model_dump() for n, m in models.items()},
        "routing": routing.model_dump(),
        "cost_controls": controls.model_dump(),
        "retry": retry.model_dump(),
        "circuit": circuit.model_dump(),
    }
    canon = json.dumps(_canonical(body), sort_keys=True, separators=(",", ":"))
    version = hashlib.sha256(canon.encode()).hexdigest()[:12]
    return Policy(
        models=models,
        routing=routing,
        cost_controls=controls,
        retry=retry,
        circuit=circuit,
        version=version,
        source=source,
    )
