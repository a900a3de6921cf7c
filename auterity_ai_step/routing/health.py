"""Model health: active checks, beside the passive circuit breaker they feed.

The breaker (:mod:`.circuit`: ``CircuitBreaker``, ``Quarantine``, ``counts_as_failure``)
is re-exported here, where callers have always imported it.

An active check may be a billed call. Given a :class:`ProbeMeter`,
:meth:`HealthMonitor.health_check` asks it before the probe (it reserves the check's worst
case against the budget, or refuses) and tells it how the probe ended (it writes the usage
row); the meter lives above routing, with the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from auterity_ai_step.errors import ProviderError, redact

from .circuit import CircuitBreaker, CircuitState, Quarantine, counts_as_failure

if TYPE_CHECKING:
    from auterity_ai_step.contract.policy import ModelSpec, PolicySource

__all__ = [
    "CircuitBreaker",
    "HealthMonitor",
    "HealthStatus",
    "ProbeMeter",
    "Quarantine",
    "counts_as_failure",
]

log = logging.getLogger("auterity_ai_step.health")

Status = Literal["available", "slow", "unavailable", "unknown"]
Prober = Callable[["ModelSpec", float], Awaitable[float]]
# The prober enforces the model's timeout on the request; this safety net sits just behind.
_HARD_GRACE_S = 0.5
# Meter settlements still running for cancelled checks (kept so they are not collected).
_PENDING: set[asyncio.Future[Any]] = set()


class ProbeMeter(Protocol):
    """Charges active health checks like steps' attempts (never blocks the event loop)."""

    async def begin(self, spec: ModelSpec) -> Any:
        """Reserve the check's worst case, or raise (e.g. ``LimitExceeded``) to refuse it."""
        ...

    async def end(
        self, ticket: Any, spec: ModelSpec, latency_ms: float, failure: BaseException | None
    ) -> None:
        """Settle what ``begin`` reserved and record the check; ``failure`` is why it failed."""
        ...


@dataclass(frozen=True)
class HealthStatus:
    """One model's health as last seen; ``circuit`` is the breaker's view of real traffic."""

    model: str
    status: Status
    latency_ms: float | None = None
    error: str | None = None
    checked_at: datetime | None = None
    circuit: CircuitState = "closed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "status": self.status,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "error": self.error,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "circuit": self.circuit,
        }


def _default_prober() -> Prober:
    from auterity_ai_step.routing import gateway

    probe: Prober = gateway.probe
    return probe


def _gateway_preload() -> Callable[[], Awaitable[None]]:
    from . import gateway

    return gateway.preload


class HealthMonitor:
    """Active health checks (the gateway's cheapest real request) plus the last results."""

    def __init__(
        self,
        policy_store: PolicySource,
        breaker: CircuitBreaker,
        *,
        prober: Prober | None = None,
    ) -> None:
        self._store = policy_store
        self._breaker = breaker
        self._prober = prober or _default_prober()
        # The real prober needs LiteLLM: import it before any timer starts.
        self._warm_up = _gateway_preload() if prober is None else None
        self._last: dict[str, HealthStatus] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_policy(
        cls, policy_store: PolicySource, *, prober: Prober | None = None
    ) -> HealthMonitor:
        """A monitor whose breaker follows the policy's ``circuit`` settings
        (``failure_threshold``, ``cooldown_s``), as the engine's does."""
        breaker = CircuitBreaker.from_settings(policy_store.current().circuit)
        return cls(policy_store, breaker, prober=prober)

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker whose state the statuses report."""
        return self._breaker

    async def ready(self) -> None:
        """Load what real checks need (LiteLLM) before any timeout starts counting."""
        if self._warm_up is not None:
            await self._warm_up()

    async def health_check(
        self, model_name: str, *, meter: ProbeMeter | None = None
    ) -> HealthStatus:
        """Probe one model with a hard timeout; never raises for a provider problem.

        An unknown model name raises :class:`PolicyError` (naming the known ones). With a
        ``meter``, whatever its ``begin`` raises refuses the check before any request.
        """
        spec = self._store.current().model(model_name)
        await self.ready()
        ticket = None if meter is None else await self._begin(meter, spec)
        timeout = spec.health_timeout_s
        status: Status
        latency: float | None = None
        error: str | None = None
        failure: BaseException | None = None
        started = time.perf_counter()
        try:
            latency = await asyncio.wait_for(self._prober(spec, timeout), timeout + _HARD_GRACE_S)
        except TimeoutError as exc:
            status, error, failure = "unavailable", f"no answer within {timeout:g} s", exc
        except ProviderError as exc:
            status, error, failure = "unavailable", f"{exc.kind}: {exc}", exc
        except Exception as exc:
            status, error = "unavailable", redact(f"{type(exc).__name__}: {exc}")
            failure = exc
        except BaseException as exc:  # cancelled: the request may have gone out
            if meter is not None:
                spent = (time.perf_counter() - started) * 1000
                await asyncio.shield(meter.end(ticket, spec, spent, exc))
            raise
        else:
            status = "slow" if latency > spec.slow_ms else "available"
        if latency is None:
            latency = (time.perf_counter() - started) * 1000
        if meter is not None:
            await asyncio.shield(meter.end(ticket, spec, latency, failure))
        result = HealthStatus(
            model=model_name,
            status=status,
            latency_ms=latency,
            error=error,
            checked_at=datetime.now(UTC),
            circuit=self._breaker.state(model_name),
        )
        with self._lock:
            self._last[model_name] = result
        return result

    @staticmethod
    async def _begin(meter: ProbeMeter, spec: ModelSpec) -> Any:
        """``meter.begin``, finished and undone even if this check is cancelled meanwhile
        (its reservation then ends as a check that sent nothing, instead of leaking)."""
        begun = asyncio.ensure_future(meter.begin(spec))
        try:
            return await asyncio.shield(begun)
        except asyncio.CancelledError:
            unsent = RuntimeError("cancelled before any request was sent")

            def undo(done: asyncio.Future[Any]) -> None:
                if not done.cancelled() and done.exception() is None:
                    task = asyncio.ensure_future(meter.end(done.result(), spec, 0.0, unsent))
                    _PENDING.add(task)
                    task.add_done_callback(_PENDING.discard)

            begun.add_done_callback(undo)
            raise

    async def check_all(self, models: Iterable[str] | None = None) -> list[HealthStatus]:
        """Check ``models`` (default: every policy model) concurrently, in the given order."""
        names = list(models) if models is not None else list(self._store.current().model_names)
        return list(await asyncio.gather(*(self.health_check(n) for n in names)))

    def status(self) -> dict[str, HealthStatus]:
        """Last known status of every policy model, with the circuit folded in; no call made.

        An open circuit makes a model ``unavailable`` whatever its last check said, since
        routing skips it.
        """
        with self._lock:
            last = dict(self._last)
        out: dict[str, HealthStatus] = {}
        for name in self._store.current().model_names:
            circuit = self._breaker.state(name)
            known = last.get(name) or HealthStatus(model=name, status="unknown")
            known = replace(known, circuit=circuit)
            if circuit == "open":
                quarantined = self._breaker.reason(name)
                known = replace(
                    known,
                    status="unavailable",
                    error=(
                        f"quarantined: {quarantined}"
                        if quarantined
                        else known.error or "circuit open after repeated failures"
                    ),
                )
            out[name] = known
        return out
