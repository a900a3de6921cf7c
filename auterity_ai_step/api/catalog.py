"""The model management API's bodies, built from the core's catalog: no FastAPI here.

:class:`ModelCatalog` turns :class:`auterity_ai_step.core.catalog.Catalog` views of the live
policy, the ledger and the health monitor into the typed bodies of
:mod:`auterity_ai_step.api.models`; a refusal is an :class:`ApiError` carrying the HTTP
status and body, which the routes turn into a response. Every error text passes through
``Catalog.redact`` (``errors.redact`` with the values of the key variables the policy
names), so no key can reach a response.

Health checks are billed calls: each is metered (:mod:`auterity_ai_step.core.health_meter`) and
each caller may start at most :data:`HEALTH_CHECK_RATE` of them (:class:`RateLimit`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..core.catalog import (
    HEALTH_CHECK_LIMIT_S,
    HEALTH_CHECK_RATE,
    Catalog,
    ConfigRefused,
    RankedView,
    RateLimit,
    without_secrets,
)
from ..core.runtime import HealthMonitor, Ledger, PolicyStore, Runtime
from ..errors import LimitExceeded, PolicyError, StoreError
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


class ApiError(Exception):
    """A refusal with its HTTP status and JSON ``detail`` (already redacted)."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _with_money(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "cost": money(row["cost"])}


def _price_text(amount: Decimal | None) -> str | None:
    return None if amount is None else money(amount)


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
        self.core = Catalog(Runtime(store, ledger, monitor), limit_s)
        self.store = store
        self.ledger = ledger
        self.monitor = monitor
        self.limit_s = limit_s
        self.rate = RateLimit(*HEALTH_CHECK_RATE) if rate is None else rate

    def redact(self, text: str) -> str:
        """``errors.redact`` plus the values of every key variable the policy names."""
        return self.core.redact(text)

    @contextmanager
    def ledger_errors(self) -> Iterator[None]:
        try:
            yield
        except StoreError as exc:
            raise ApiError(503, self.redact(str(exc))[:500]) from exc

    def available(self) -> AvailableModels:
        policy = self.core.policy()
        return AvailableModels(
            policy_version=policy.version,
            default_model=policy.routing.default_model,
            models=[
                AvailableModel(
                    name=view.spec.name,
                    provider=view.spec.provider,
                    input_cost_per_1k=_price_text(
                        None if view.price is None else view.price.input_per_1k
                    ),
                    output_cost_per_1k=_price_text(
                        None if view.price is None else view.price.output_per_1k
                    ),
                    price_source=None if view.price is None else view.price.source,
                    context_window=view.spec.context_window,
                    max_output_tokens=view.spec.max_output_tokens,
                    capabilities=list(view.spec.capabilities),
                    use_cases=list(view.spec.use_cases),
                    quality=view.spec.quality,
                    status=view.health.status,
                    circuit=view.health.circuit,
                    latency_ms=view.health.latency_ms,
                    last_checked=view.health.checked_at,
                )
                for view in self.core.models()
            ],
        )

    def usage(self, days: int, model: str | None) -> UsageReport:
        with self.ledger_errors():
            totals = self.ledger.totals(days, model)
            day = self.core.budget_day()
        budget = day.budget
        figures = BudgetFigures(
            daily_budget=_price_text(budget),
            period_budget=None if budget is None else money(budget * days),
            alert_threshold_percent=money(day.controls.alert_threshold),
            timezone=day.controls.timezone,
            today=day.today.isoformat(),
            spent_today=money(day.spent),
            reserved_today=money(day.reserved),
            left_today=_price_text(day.left),
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
            seen = await self.core.check_health(name)
        except PolicyError as exc:  # the monitor's word for a model the policy lacks
            raise self.unknown_model(name) from exc
        except LimitExceeded as exc:
            raise ApiError(
                429, self.redact(f"no health check of {name}: {exc}; no request was made")
            ) from exc
        except StoreError as exc:
            raise ApiError(503, self.redact(str(exc))[:500]) from exc
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
        ranked = self.core.ranked(task_type, context_length, preference)
        recommended, reasons = self.core.pick(ranked, task_type, context_length, preference)
        return Recommendations(
            task_type=task_type,
            context_length=context_length,
            cost_preference=preference,
            recommended=recommended,
            reasons=reasons,
            models=[self._entry(view) for view in ranked],
        )

    def _entry(self, view: RankedView) -> RankedEntry:
        price, item = view.price, view.ranked
        return RankedEntry(
            rank=view.rank,
            model=item.model,
            provider=view.spec.provider,
            score=item.score,
            fits=item.fits,
            quality=item.quality,
            estimated_cost_per_1k=_price_text(view.blended_per_1k),
            input_cost_per_1k=_price_text(None if price is None else price.input_per_1k),
            output_cost_per_1k=_price_text(None if price is None else price.output_per_1k),
            status=view.status,
            reasons=[self.redact(r) for r in item.reasons],
        )

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
            overrides = self.core.stored_configurations()
        policy = self.store.current()
        models = [
            ConfigModel(
                name=spec.name,
                provider=spec.provider,
                source=self.core.config_source(spec.name, overrides),
                api_key_env=spec.api_key_env,
                api_key_set=bool(spec.api_key_env and os.environ.get(spec.api_key_env)),
            )
            for spec in policy.models.values()
        ]
        refused = self.store.last_error
        return ConfigView(
            policy_version=policy.version,
            policy_source=policy.source,
            overrides={name: without_secrets(cfg) for name, cfg in overrides.items()},
            models=models,
            last_refused=None if refused is None else self.redact(refused),
        )

    def put_config(self, body: Any) -> ConfigView:
        """Validate ``body`` with the policy file, then replace the stored set atomically."""
        try:
            with self.ledger_errors():
                self.core.replace_configurations(body)
        except ConfigRefused as exc:
            if exc.conflict:
                raise ApiError(409, exc.errors[0]) from exc
            raise ApiError(
                422,
                {
                    "message": "invalid model configuration; nothing was changed",
                    "errors": exc.errors,
                },
            ) from exc
        return self.config_view()
