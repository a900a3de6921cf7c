"""The model catalog the faces show: every model with its price and health, rankings for a
task, the budget day's figures, health checks, live status and stored configurations.

Views over a :class:`~auterity_ai_step.core.runtime.Runtime` with no HTTP in them: the API
shapes them into its bodies (``api.catalog``) and ``AIService``/``LiteLLMService`` answer
from them. Every text that may reach a caller can be passed through :meth:`Catalog.redact`,
which knows the values of the key variables the policy names.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from .. import telemetry
from ..contract.policy import CostControls, ModelSpec, Policy, parse_policy, read_policy_file
from ..errors import PolicyError, is_secret_key, redact
from ..money.limits import BudgetGuard
from ..money.prices import Price
from ..routing.candidates import RankedModel, Recommendation, rank_models, select_optimal_model
from ..routing.health import HealthStatus
from .health_meter import LedgerProbeMeter
from .prices import PRICES
from .runtime import Runtime

__all__ = [
    "HEALTH_CHECK_LIMIT_S",
    "HEALTH_CHECK_RATE",
    "BudgetDay",
    "Catalog",
    "ConfigRefused",
    "ConfigSource",
    "ModelView",
    "RankedView",
    "RateLimit",
    "recommend",
    "without_secrets",
]

HEALTH_CHECK_LIMIT_S = 5.0
#: Health checks one caller may start per window: (checks, window in seconds).
HEALTH_CHECK_RATE: tuple[int, float] = (10, 60.0)
ConfigSource = Literal["file", "override", "file+override"]


def recommend(
    policy: Policy,
    task_type: str | None = None,
    context_length: int = 0,
    cost_preference: str = "balanced",
) -> Recommendation:
    """The best policy model for a task and why; PolicyError when no model's context fits."""
    return select_optimal_model(policy, task_type, context_length, cost_preference, prices=PRICES)


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


@dataclass(frozen=True)
class ModelView:
    """One policy model with its price (None: unknown) and last known health."""

    spec: ModelSpec
    price: Price | None
    health: HealthStatus


@dataclass(frozen=True)
class RankedView:
    """One model's standing for a task, with its price and last known health state."""

    rank: int
    ranked: RankedModel
    spec: ModelSpec
    price: Price | None
    status: str

    @property
    def blended_per_1k(self) -> Decimal | None:
        """The price per 1k tokens the ranking used (from the one price book)."""
        return self.ranked.price_per_1k


@dataclass(frozen=True)
class BudgetDay:
    """Today's budget figures in the policy's time zone (None: no daily budget)."""

    controls: CostControls
    today: date
    spent: Decimal
    reserved: Decimal

    @property
    def budget(self) -> Decimal | None:
        return self.controls.daily_budget

    @property
    def left(self) -> Decimal | None:
        budget = self.budget
        return None if budget is None else max(budget - self.spent - self.reserved, Decimal(0))

    @property
    def alert_at(self) -> Decimal | None:
        budget = self.budget
        return None if budget is None else budget * self.controls.alert_threshold / 100

    @property
    def state(self) -> Literal["ok", "alert", "exhausted", "no_budget"]:
        left, alert_at = self.left, self.alert_at
        if left is None or alert_at is None:
            return "no_budget"
        if left == 0:
            return "exhausted"
        if self.spent + self.reserved >= alert_at:
            return "alert"
        return "ok"


class ConfigRefused(PolicyError):
    """A stored-configuration change refused: ``errors`` lists each problem, or (with
    ``conflict``) the policy store could never apply it."""

    def __init__(self, errors: list[str], *, conflict: bool = False) -> None:
        super().__init__("; ".join(errors), errors)
        self.conflict = conflict


def without_secrets(value: Any) -> Any:
    """A stored config with secret-named keys dropped and key-like strings redacted (both
    are refused on write anyway, but a row may have been written behind the API's back)."""
    if isinstance(value, Mapping):
        return {str(k): without_secrets(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


class Catalog:
    """The catalog over one runtime; one instance per API router or service."""

    def __init__(self, runtime: Runtime, limit_s: float = HEALTH_CHECK_LIMIT_S) -> None:
        self.runtime = runtime
        self.limit_s = limit_s
        self.meter = LedgerProbeMeter(runtime.ledger, runtime.policy_store)
        self._config_lock = threading.Lock()

    def policy(self) -> Policy:
        return self.runtime.policy_store.current()

    def redact(self, text: str) -> str:
        """``errors.redact`` plus the values of every key variable the policy names."""
        names = {m.api_key_env for m in self.policy().models.values() if m.api_key_env}
        values = [os.environ.get(name, "") for name in sorted(names)]
        return redact(text, [v for v in values if v])

    def models(self) -> list[ModelView]:
        health = self.runtime.monitor.status()
        return [
            ModelView(spec, PRICES.price(spec), health.get(name) or HealthStatus(name, "unknown"))
            for name, spec in self.policy().models.items()
        ]

    def ranked(
        self, task_type: str | None, context_length: int, preference: str
    ) -> list[RankedView]:
        policy = self.policy()
        health = self.runtime.monitor.status()
        return [
            RankedView(
                rank=rank,
                ranked=item,
                spec=policy.models[item.model],
                price=PRICES.price(policy.models[item.model]),
                status=health[item.model].status if item.model in health else "unknown",
            )
            for rank, item in enumerate(
                rank_models(policy, task_type, context_length, preference, prices=PRICES), start=1
            )
        ]

    def pick(
        self,
        entries: list[RankedView],
        task_type: str | None,
        context_length: int,
        preference: str,
    ) -> tuple[str | None, list[str]]:
        """The best fitting model, passing over ones known to be down when another fits."""
        try:
            best = recommend(self.policy(), task_type, context_length, preference)
        except PolicyError as exc:
            return None, [self.redact(str(exc))]
        up = [e for e in entries if e.ranked.fits and e.status != "unavailable"]
        if not up or up[0].ranked.model == best.model:
            return best.model, best.reasons
        first = up[0].ranked
        return first.model, [f"{best.model} is unavailable now; next best", *first.reasons]

    def budget_day(self) -> BudgetDay:
        """Today's spent and reserved amounts against the daily budget (StoreError)."""
        controls = self.policy().cost_controls
        today = BudgetGuard(self.runtime.ledger, controls).today(controls)
        spent, reserved = self.runtime.ledger.day_status(today)
        return BudgetDay(controls, today, spent, reserved)

    def month_spent(self, today: date) -> Decimal:
        """What the budget booked this month up to and including ``today`` (StoreError)."""
        return self.runtime.ledger.budget_spent_between(today.replace(day=1), today)

    async def check_health(self, name: str) -> HealthStatus:
        """Check ``name`` now, metered like a step, within :attr:`limit_s`.

        PolicyError for a model the policy lacks, LimitExceeded when the budget has no
        room, StoreError when the ledger fails; no answer in time is ``unavailable``.
        """
        if name not in self.policy().models:
            raise PolicyError(f"unknown model {name!r}")
        monitor = self.runtime.monitor
        try:
            await monitor.ready()
            seen = await asyncio.wait_for(
                monitor.health_check(name, meter=self.meter), self.limit_s
            )
        except TimeoutError:
            seen = HealthStatus(
                model=name,
                status="unavailable",
                latency_ms=self.limit_s * 1000,
                error=f"no answer within {self.limit_s:g} s",
                circuit=monitor.status().get(name, HealthStatus(name, "unknown")).circuit,
            )
        spec = self.policy().models.get(name)
        provider = spec.provider if spec else ""
        telemetry.record_health_check(name, provider, seen.status, seen.latency_ms)
        return seen

    def statuses(self) -> list[tuple[HealthStatus, str | None]]:
        """Each model's last known status with why its circuit is open, sorted by name."""
        monitor = self.runtime.monitor
        breaker = monitor.breaker
        return [(seen, breaker.reason(name)) for name, seen in sorted(monitor.status().items())]

    def stored_configurations(self) -> dict[str, dict[str, Any]]:
        """The ledger's stored model configurations (StoreError)."""
        return self.runtime.ledger.model_configurations()[1]

    def config_source(self, name: str, overrides: Mapping[str, Any]) -> ConfigSource:
        """Where a live model's configuration comes from: the file, the ledger, or both."""
        if name not in overrides:
            return "file"
        return "file+override" if name in self._file_models() else "override"

    def _file_models(self) -> set[str]:
        store = self.runtime.policy_store
        if store.path is None:
            return set(store.current().model_names)
        try:
            return set(parse_policy(read_policy_file(store.path)).model_names)
        except PolicyError:
            return set()

    def _check_store_applies_configs(self) -> None:
        """ConfigRefused (a conflict) unless a written configuration would reach the live
        policy."""
        store = self.runtime.policy_store
        if store.path is None:
            raise ConfigRefused(
                ["this policy store has no policy file to validate against"], conflict=True
            )
        if not store.reads_overrides:
            raise ConfigRefused(
                [
                    "this policy store does not read the stored model configurations, so a "
                    "change would be written but never used; build it with "
                    "PolicyStore(overrides=ledger.model_configurations) (the router's default) "
                    "and pass it to both the executor and create_router"
                ],
                conflict=True,
            )

    def replace_configurations(self, body: Any) -> None:
        """Validate ``body`` with the policy file, then replace the stored set atomically.

        ConfigRefused lists each problem (redacted) and nothing is written; a StoreError
        when the ledger cannot be written. The lock keeps
        validate-then-write whole within this process; the ledger's single transaction
        keeps the replacement whole across workers.
        """
        self._check_store_applies_configs()
        if not isinstance(body, Mapping):
            raise ConfigRefused(["the body must be an object: model name to settings"])
        shape = [
            f"{name}: must be an object of model settings"
            for name, cfg in body.items()
            if not isinstance(cfg, Mapping)
        ]
        if shape:
            raise ConfigRefused([self.redact(line) for line in shape])
        store = self.runtime.policy_store
        path = store.path
        assert path is not None  # checked by _check_store_applies_configs
        with self._config_lock:
            try:
                policy = parse_policy(read_policy_file(path), source=str(path), overrides=body)
            except PolicyError as exc:
                raise ConfigRefused([self.redact(line) for line in exc.errors]) from exc
            # The provider is stored explicitly so the row alone says which family it is.
            stored = {
                name: {**cfg, "provider": policy.models[name].provider}
                for name, cfg in body.items()
            }
            self.runtime.ledger.put_model_configurations(stored)
            store.reload()
