"""Model health: a passive circuit breaker fed by real traffic, and active checks.

The breaker makes fallback immediate for a model known to be down: after
``failure_threshold`` consecutive failures its circuit opens for ``cooldown_s``; then
exactly one caller is let through as a probe (half-open) and its outcome closes or reopens
the circuit. Only failures that say the model is down count (see
:func:`counts_as_failure`); a content refusal or a bad answer says nothing about health.
:meth:`CircuitBreaker.quarantine` opens a circuit at once, for a cooldown of its own and
with a reason that health output shows: for a model that misbehaves in a way waiting a few
seconds cannot fix (a billing error, usage it reports that cannot be true). Listeners
registered with :meth:`CircuitBreaker.on_quarantine` hear of each quarantine once.

Breaker state is per process: a speed-up, never needed for correctness across workers.

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

from auterity_ai_step.errors import (
    AuthenticationFailed,
    ModelNotFound,
    ProviderError,
    redact,
)

if TYPE_CHECKING:
    from auterity_ai_step.contract.policy import CircuitSettings, ModelSpec, PolicySource

__all__ = [
    "CircuitBreaker",
    "HealthMonitor",
    "HealthStatus",
    "ProbeMeter",
    "Quarantine",
    "counts_as_failure",
]

log = logging.getLogger("auterity_ai_step.health")

CircuitState = Literal["closed", "open", "half_open"]
Status = Literal["available", "slow", "unavailable", "unknown"]
Prober = Callable[["ModelSpec", float], Awaitable[float]]
# The prober enforces the model's timeout on the request; this safety net sits just behind.
_HARD_GRACE_S = 0.5
# Meter settlements still running for cancelled checks (kept so they are not collected).
_PENDING: set[asyncio.Future[Any]] = set()


def counts_as_failure(exc: BaseException) -> bool:
    """True when ``exc`` says the model itself is down or unusable, not just this request."""
    return isinstance(exc, ProviderError) and (
        exc.retryable or isinstance(exc, AuthenticationFailed | ModelNotFound)
    )


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probe_started: float | None = None
    # Set by quarantine(): why the circuit opened and for how long (else the breaker's).
    reason: str | None = None
    cooldown_s: float | None = None


@dataclass(frozen=True)
class Quarantine:
    """A model taken out of routing at once: which, why, and for how many seconds."""

    model: str
    reason: str
    cooldown_s: float


class CircuitBreaker:
    """Thread-safe per-model circuit breaker (closed → open → half-open → closed)."""

    def __init__(
        self,
        failure_threshold: int = 3,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}
        self._listeners: list[Callable[[Quarantine], None]] = []

    @classmethod
    def from_settings(
        cls, settings: CircuitSettings, clock: Callable[[], float] = time.monotonic
    ) -> CircuitBreaker:
        return cls(settings.failure_threshold, settings.cooldown_s, clock)

    @staticmethod
    def counts_as_failure(exc: BaseException) -> bool:
        """See :func:`counts_as_failure`; here so callers holding a breaker need no import."""
        return counts_as_failure(exc)

    def _cooldown(self, circuit: _Circuit) -> float:
        return self.cooldown_s if circuit.cooldown_s is None else circuit.cooldown_s

    def _state(self, circuit: _Circuit | None, now: float) -> CircuitState:
        if circuit is None or circuit.opened_at is None:
            return "closed"
        if now - circuit.opened_at < self._cooldown(circuit):
            return "open"
        return "half_open"

    def on_quarantine(self, callback: Callable[[Quarantine], None]) -> Callable[[], None]:
        """Call ``callback`` on every quarantine; returns a function that unsubscribes.

        A listener that raises is logged and skipped: it never stops the quarantine.
        """
        with self._lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unsubscribe

    def quarantine(self, model: str, reason: str, cooldown_s: float | None = None) -> Quarantine:
        """Open ``model``'s circuit now, for ``cooldown_s`` (default: the breaker's), saying why.

        After the cooldown one probe is let through as for any open circuit; its success
        closes the circuit and clears the reason. The reason is redacted before it is kept.
        """
        event = Quarantine(
            model, redact(reason), self.cooldown_s if cooldown_s is None else cooldown_s
        )
        with self._lock:
            circuit = self._circuits.setdefault(model, _Circuit())
            circuit.opened_at, circuit.probe_started = self._clock(), None
            circuit.reason, circuit.cooldown_s = event.reason, event.cooldown_s
            listeners = list(self._listeners)
        log.warning("model %s quarantined for %g s: %s", model, event.cooldown_s, event.reason)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("quarantine listener %r failed", listener)
        return event

    def reason(self, model: str) -> str | None:
        """Why ``model``'s circuit was quarantined, while it is not closed; else None."""
        with self._lock:
            circuit = self._circuits.get(model)
            if circuit is None or self._state(circuit, self._clock()) == "closed":
                return None
            return circuit.reason

    def allow(self, model: str) -> bool:
        """May a request go to ``model`` now? In half-open state only one caller gets True.

        A probe that never reports (its caller died) is given up after another cooldown.
        """
        with self._lock:
            circuit = self._circuits.get(model)
            now = self._clock()
            state = self._state(circuit, now)
            if state == "closed":
                return True
            if state == "open" or circuit is None:
                return False
            if circuit.probe_started is not None and now - circuit.probe_started < self.cooldown_s:
                return False
            circuit.probe_started = now
            return True

    def record_success(self, model: str) -> None:
        with self._lock:
            self._circuits.pop(model, None)

    def record_failure(self, model: str) -> None:
        """Count one failure; a failed half-open probe reopens the circuit at once."""
        with self._lock:
            circuit = self._circuits.setdefault(model, _Circuit())
            now = self._clock()
            circuit.failures += 1
            if circuit.opened_at is not None:
                if self._state(circuit, now) == "half_open":
                    circuit.opened_at, circuit.probe_started = now, None
            elif circuit.failures >= self.failure_threshold:
                circuit.opened_at = now

    def state(self, model: str) -> CircuitState:
        with self._lock:
            return self._state(self._circuits.get(model), self._clock())

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every model with a non-closed history: state, consecutive failures, cooldown left."""
        with self._lock:
            now = self._clock()
            out: dict[str, dict[str, Any]] = {}
            for model, circuit in self._circuits.items():
                left = 0.0
                if circuit.opened_at is not None:
                    left = max(self._cooldown(circuit) - (now - circuit.opened_at), 0.0)
                out[model] = {
                    "state": self._state(circuit, now),
                    "consecutive_failures": circuit.failures,
                    "cooldown_remaining_s": round(left, 3),
                }
                if circuit.reason is not None:
                    out[model]["reason"] = circuit.reason
            return out


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
