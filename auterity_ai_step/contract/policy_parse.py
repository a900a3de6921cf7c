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
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import PolicyError, is_secret_key
from ..settings import allowed_api_bases, allowed_key_envs
from .policy_entries import file_models, flatten_models, merge_override, normalise_model
from .policy_fields import build_section, find_secrets, money_value
from .policy_format import TOP_LEVEL_KEYS
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

__all__ = ["parse_policy"]

# The format's vocabulary is .policy_format; the ``models`` section is read by
# .policy_entries, with the checks every section shares in .policy_fields.


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
            out[key] = money_value(out[key], f"cost_controls.{key}", errors)
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
    find_secrets(data, "", errors)
    find_secrets(overrides or {}, "overrides", errors)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            errors.append(f"{key}: unknown top-level key (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    flat, models = _models(data.get("models"), overrides, errors)
    routing = _routing(data.get("routing_rules"), errors)
    controls = build_section(
        CostControls, _cost_controls(data.get("cost_controls"), errors), "cost_controls", errors
    )
    retry = build_section(RetrySettings, data.get("retry"), "retry", errors)
    circuit = build_section(CircuitSettings, data.get("circuit"), "circuit", errors)
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
    return Policy(
        models=models,
        routing=routing,
        cost_controls=controls,
        retry=retry,
        circuit=circuit,
        version=_version(body),
        source=source,
    )


def _routing(rules: Any, errors: list[str]) -> RoutingRules | None:
    if rules is None:
        errors.append("routing_rules.default_model: missing; name the model to use by default")
        return None
    routing: RoutingRules | None = build_section(RoutingRules, rules, "routing_rules", errors)
    return routing


def _models(
    raw: Any, overrides: Mapping[str, Mapping[str, Any]] | None, errors: list[str]
) -> tuple[dict[str, Any], dict[str, ModelSpec]]:
    """The ``models`` section with the ``overrides`` merged in: (every entry by name, the
    ones that were built). What overrides may reach is checked against the file's own."""
    flat = flatten_models(raw, errors)
    file_flat = dict(flat)
    _apply_overrides(flat, overrides or {}, errors)
    models = _build_models(flat, errors)
    check_api_base_schemes(models, {n: path for n, (path, _, _) in flat.items()}, errors)
    if overrides:
        check_stored_reach(
            file_models(file_flat),
            models,
            [name for name in overrides if isinstance(overrides[name], Mapping)],
            key_envs=allowed_key_envs(),
            api_bases=allowed_api_bases(),
            errors=errors,
        )
    return flat, models


def _apply_overrides(flat: dict[str, Any], overrides: Mapping[str, Any], errors: list[str]) -> None:
    """Merge the database's per-model ``overrides`` into the file's flat models, in place."""
    for name, extra in overrides.items():
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
        flat[name] = (path, group, merge_override(entry, extra))


def _build_models(flat: Mapping[str, Any], errors: list[str]) -> dict[str, ModelSpec]:
    """Each flat model entry checked into a ModelSpec; a broken one is left out, its
    problems added to ``errors``."""
    models: dict[str, ModelSpec] = {}
    for name, (path, group, entry) in flat.items():
        if isinstance(entry, Mapping):  # literal keys were reported above, without values
            entry = {k: v for k, v in entry.items() if not is_secret_key(str(k))}
        spec = normalise_model(name, path, group, entry, errors)
        built = build_section(ModelSpec, spec, path, errors) if spec is not None else None
        if built is not None:
            models[name] = built
    return models


def _version(body: Mapping[str, Any]) -> str:
    """The policy's version: a short hash of its canonical form, so equal policies share it."""
    canon = json.dumps(_canonical(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:12]
