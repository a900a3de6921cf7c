"""What the model management API does, apart from HTTP: no FastAPI here.

:class:`ModelCatalog` reads the live policy, the ledger and the health monitor and turns
them into the typed bodies of :mod:`auterity_ai_step.api.models`; a refusal is an
:class:`ApiError` carrying the HTTP status and body, which ``api.py`` turns into a response.
Every error text passes through ``errors.redact`` with the values of the key variables the
policy names, so no key can reach a response.

Health checks are billed calls: each is metered (:mod:`auterity_ai_step.core.health_meter`) and
each caller may start at most :data:`HEALTH_CHECK_RATE` of them (:class:`RateLimit`).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from ..contract.policy import Policy, parse_policy, read_policy_file
from ..core.health_meter import LedgerProbeMeter
from ..core.policy_source import PolicyStore
from ..errors import LimitExceeded, PolicyError, StoreError, redact
from ..money.limits import BudgetGuard
from ..money.prices import price_for
from ..routing.candidates import rank_models, select_optimal_model
from ..routing.health import HealthMonitor, HealthStatus
from ..store.ledger import Ledger
from .models import (
    AvailableModel,
    AvailableModels,
    BudgetFigures,
    ConfigModel,
    ConfigView,
    DayUsage,
    ExecutionUsage,
    HealthCheckResult,
    ModelUsageTotals,
    Preference,
    RankedEntry,
    Recommendations,
    UsageReport,
    UsageRow,
    money,
)

__all__ = ["HEALTH_CHECK_LIMIT_S", "HEALTH_CHECK_RATE", "ApiError", "ModelCatalog", "RateLimit"]

HEALTH_CHECK_LIMIT_S = 5.0
#: Health checks one caller may start per window: (checks, window in seconds).
HEALTH_CHECK_RATE: tuple[int, float] = (10, 60.0)
_ZERO = Decimal(0)
_SECRET_KEY = re.compile(r"(?i)^(api[_-]?key|apikey|secret|token|password)$")


class ApiError(Exception):
    """A refusal with its HTTP status and JSON ``detail`` (already redacted)."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class RateLimit:
    """At most ``limit`` events per caller in any ``window_s`` seconds (a sliding log).

    Per process, like the circuit breaker: with several workers each allows its own share.
    """

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs at least 1 event per positive window")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> float | None:
        """Count one event for ``caller``; None if allowed, else seconds until one is."""
        with self._lock:
            now = self._clock()
            log = self._seen.setdefault(caller, deque())
            while log and now - log[0] >= self.window_s:
                log.popleft()
            if len(log) >= self.limit:
                return self.window_s - (now - log[0])
            log.append(now)
            if len(self._seen) > 10_000:  # forget idle callers, keep memory bounded
                for name in [n for n, times in self._seen.items() if not times]:
                    del self._seen[name]
            return None


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _with_money(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "cost": money(row["cost"])}


def _without_secrets(value: Any) -> Any:
    """A stored config with secret-named keys dropped and key-like strings redacted (both
    are refused on write anyway, but a row may have been written behind the API's back)."""
    if isinstance(value, Mapping):
        return {
            str(k): _without_secrets(v) for k, v in value.items() if not _SECRET_KEY.match(str(k))
        }
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


class ModelCatalog:
    """What the routes do, apart from HTTP plumbing; one instance per router."""

    def __init__(
        self,
        store: PolicyStore,
        ledger: Ledger,
        monitor: HealthMonitor,
        limit_s: float = HEALTH_CHECK_LIMIT_S,
        rate: RateLimit | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.monitor = monitor
        self.limit_s = limit_s
        self.rate = RateLimit(*HEALTH_CHECK_RATE) if rate is None else rate
        self.meter = LedgerProbeMeter(ledger, store)
        self._config_lock = threading.Lock()

    def redact(self, text: str) -> str:
        """``errors.redact`` plus the values of every key variable the policy names."""
        names = {m.api_key_env for m in self.store.current().models.values() if m.api_key_env}
        values = [os.environ.get(name, "") for name in sorted(names)]
        return redact(text, [v for v in values if v])

    @contextmanager
    def ledger_errors(self) -> Iterator[None]:
        try:
            yield
        except StoreError as exc:
            raise ApiError(503, self.redact(str(exc))[:500]) from exc

    def available(self) -> AvailableModels:
        policy = self.store.current()
        health = self.monitor.status()
        models = []
        for spec in policy.models.values():
            price = price_for(spec)
            seen = health.get(spec.name) or HealthStatus(model=spec.name, status="unknown")
            models.append(
                AvailableModel(
                    name=spec.name,
                    provider=spec.provider,
                    input_cost_per_1k=None if price is None else money(price.input_per_1k),
                    output_cost_per_1k=None if price is None else money(price.output_per_1k),
                    price_source=None if price is None else price.source,
                    context_window=spec.context_window,
                    max_output_tokens=spec.max_output_tokens,
                    capabilities=list(spec.capabilities),
                    use_cases=list(spec.use_cases),
                    quality=spec.quality,
                    status=seen.status,
                    circuit=seen.circuit,
                    latency_ms=seen.latency_ms,
                    last_checked=seen.checked_at,
                )
            )
        return AvailableModels(
            policy_version=policy.version,
            default_model=policy.routing.default_model,
            models=models,
        )

    def usage(self, days: int, model: str | None) -> UsageReport:
        controls = self.store.current().cost_controls
        with self.ledger_errors():
            totals = self.ledger.totals(days, model)
            today = BudgetGuard(self.ledger, controls).today(controls)
            spent, reserved = self.ledger.day_status(today)
        budget = controls.daily_budget
        figures = BudgetFigures(
            daily_budget=None if budget is None else money(budget),
            period_budget=None if budget is None else money(budget * days),
            alert_threshold_percent=money(controls.alert_threshold),
            timezone=controls.timezone,
            today=today.isoformat(),
            spent_today=money(spent),
            reserved_today=money(reserved),
            left_today=None
            if budget is None
            else money(max(budget - spent - reserved, Decimal(0))),
        )
        return UsageReport(
            days=days,
            since=_utc(totals["since"]),
            model=model,
            calls=totals["calls"],
            errors=totals["errors"],
            total_tokens=totals["total_tokens"],
            total_cost=money(totals["total_cost"]),
            by_model=[ModelUsageTotals(**_with_money(r)) for r in totals["by_model"]],
            by_day=[DayUsage(**_with_money(r)) for r in totals["by_day"]],
            budget=figures,
        )

    def unknown_model(self, name: str) -> ApiError:
        known = list(self.store.current().model_names)
        return ApiError(
            404,
            {
                "message": self.redact(f"unknown model {name!r} (known: {', '.join(known)})"),
                "known_models": known,
            },
        )

    def _take_rate(self, caller: str) -> None:
        wait = self.rate.take(caller)
        if wait is not None:
            retry = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"health checks are billed calls: at most {self.rate.limit} per "
                f"{self.rate.window_s:g} s for each caller; try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )

    async def health_check(self, name: str, caller: str = "") -> HealthCheckResult:
        """Check ``name`` now for ``caller``: rate-limited, then metered like a step."""
        if name not in self.store.current().models:
            raise self.unknown_model(name)
        self._take_rate(caller)
        try:
            await self.monitor.ready()
            seen = await asyncio.wait_for(
                self.monitor.health_check(name, meter=self.meter), self.limit_s
            )
        except PolicyError as exc:  # the monitor's word for a model the policy lacks
            raise self.unknown_model(name) from exc
        except LimitExceeded as exc:
            raise ApiError(
                429, self.redact(f"no health check of {name}: {exc}; no request was made")
            ) from exc
        except StoreError as exc:
            raise ApiError(503, self.redact(str(exc))[:500]) from exc
        except TimeoutError:
            seen = HealthStatus(
                model=name,
                status="unavailable",
                latency_ms=self.limit_s * 1000,
                error=f"no answer within {self.limit_s:g} s",
                circuit=self.monitor.status().get(name, HealthStatus(name, "unknown")).circuit,
            )
        return HealthCheckResult(
            model=seen.model,
            status=seen.status,
            latency_ms=seen.latency_ms,
            error=None if seen.error is None else self.redact(seen.error),
            checked_at=seen.checked_at or datetime.now(UTC),
            circuit=seen.circuit,
        )

    def recommendations(
        self, task_type: str | None, context_length: int, preference: Preference
    ) -> Recommendations:
        policy = self.store.current()
        health = self.monitor.status()
        ranked = rank_models(policy, task_type, context_length, preference)
        entries = []
        for rank, item in enumerate(ranked, start=1):
            spec = policy.models[item.model]
            price = price_for(spec)
            blended = None if price is None else (price.input_per_1k + price.output_per_1k) / 2
            state = health[item.model].status if item.model in health else "unknown"
            entries.append(
                RankedEntry(
                    rank=rank,
                    model=item.model,
                    provider=spec.provider,
                    score=item.score,
                    fits=item.fits,
                    quality=item.quality,
                    estimated_cost_per_1k=None if blended is None else money(blended),
                    input_cost_per_1k=None if price is None else money(price.input_per_1k),
                    output_cost_per_1k=None if price is None else money(price.output_per_1k),
                    status=state,
                    reasons=[self.redact(r) for r in item.reasons],
                )
            )
        recommended, reasons = self._pick(policy, entries, task_type, context_length, preference)
        return Recommendations(
            task_type=task_type,
            context_length=context_length,
            cost_preference=preference,
            recommended=recommended,
            reasons=reasons,
            models=entries,
        )

    def _pick(
        self,
        policy: Policy,
        entries: list[RankedEntry],
        task_type: str | None,
        context_length: int,
        preference: str,
    ) -> tuple[str | None, list[str]]:
        """The best fitting model, passing over ones known to be down when another fits."""
        try:
            best = select_optimal_model(policy, task_type, context_length, preference)
        except PolicyError as exc:
            return None, [self.redact(str(exc))]
        up = [e for e in entries if e.fits and e.status != "unavailable"]
        if not up or up[0].model == best.model:
            return best.model, best.reasons
        return up[0].model, [f"{best.model} is unavailable now; next best", *up[0].reasons]

    def execution_usage(self, execution_id: str) -> ExecutionUsage:
        with self.ledger_errors():
            rows = self.ledger.execution_usage(execution_id)
        out = [
            UsageRow(**{**r, "cost": money(r["cost"]), "created_at": _utc(r["created_at"])})
            for r in rows
        ]
        return ExecutionUsage(
            execution_id=execution_id,
            attempts=len(out),
            total_tokens=sum(r.total_tokens for r in out),
            total_cost=money(sum((Decimal(r.cost) for r in out), Decimal(0))),
            rows=out,
        )

    def config_view(self) -> ConfigView:
        with self.ledger_errors():
            _, overrides = self.ledger.model_configurations()
        policy = self.store.current()
        in_file = self._file_models()
        models = []
        for spec in policy.models.values():
            source: Literal["file", "override", "file+override"] = "file"
            if spec.name in overrides:
                source = "file+override" if spec.name in in_file else "override"
            env = spec.api_key_env
            models.append(
                ConfigModel(
                    name=spec.name,
                    provider=spec.provider,
                    source=source,
                    api_key_env=env,
                    api_key_set=bool(env and os.environ.get(env)),
                )
            )
        refused = self.store.last_error
        return ConfigView(
            policy_version=policy.version,
            policy_source=policy.source,
            overrides={name: _without_secrets(cfg) for name, cfg in overrides.items()},
            models=models,
            last_refused=None if refused is None else self.redact(refused),
        )

    def _file_models(self) -> set[str]:
        if self.store.path is None:
            return set(self.store.current().model_names)
        try:
            return set(parse_policy(read_policy_file(self.store.path)).model_names)
        except PolicyError:
            return set()

    def _check_store_applies_configs(self) -> None:
        """409 unless a written configuration would reach the live policy."""
        if self.store.path is None:
            raise ApiError(409, "this policy store has no policy file to validate against")
        if not self.store.reads_overrides:
            raise ApiError(
                409,
                "this policy store does not read the stored model configurations, so a "
                "change would be written but never used; build it with "
                "PolicyStore(overrides=ledger.model_configurations) (the router's default) "
                "and pass it to both the executor and create_router",
            )

    def put_config(self, body: Any) -> ConfigView:
        """Validate ``body`` with the policy file, then replace the stored set atomically.

        The lock keeps validate-then-write whole within this process; the ledger's single
        transaction keeps the replacement whole across workers.
        """
        self._check_store_applies_configs()
        if not isinstance(body, Mapping):
            raise _invalid(["the body must be an object: model name to settings"])
        shape = [
            f"{name}: must be an object of model settings"
            for name, cfg in body.items()
            if not isinstance(cfg, Mapping)
        ]
        if shape:
            raise _invalid([self.redact(line) for line in shape])
        path = self.store.path
        assert path is not None  # checked by _check_store_applies_configs
        with self._config_lock:
            try:
                policy = parse_policy(read_policy_file(path), source=str(path), overrides=body)
            except PolicyError as exc:
                raise _invalid([self.redact(line) for line in exc.errors]) from exc
            # The provider is stored explicitly so the row alone says which family it is.
            stored = {
                name: {**cfg, "provider": policy.models[name].provider}
                for name, cfg in body.items()
            }
            with self.ledger_errors():
                self.ledger.put_model_configurations(stored)
            self.store.reload()
        return self.config_view()


def _invalid(errors: list[str]) -> ApiError:
    return ApiError(
        422, {"message": "invalid model configuration; nothing was changed", "errors": errors}
    )
