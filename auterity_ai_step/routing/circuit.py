"""The passive circuit breaker, fed by real traffic: fallback is immediate for a model
known to be down.

After ``failure_threshold`` consecutive failures a model's circuit opens for ``cooldown_s``;
then exactly one caller is let through as a probe (half-open) and its outcome closes or
reopens the circuit. Only failures that say the model is down count (see
:func:`counts_as_failure`); a content refusal or a bad answer says nothing about health.
:meth:`CircuitBreaker.quarantine` opens a circuit at once, for a cooldown of its own and
with a reason that health output shows: for a model that misbehaves in a way waiting a few
seconds cannot fix (a billing error, usage it reports that cannot be true). Listeners
registered with :meth:`CircuitBreaker.on_quarantine` hear of each quarantine once.

Breaker state is per process: a speed-up, never needed for correctness across workers.
The active checks that also feed it are in :mod:`.health`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from auterity_ai_step.errors import (
    AuthenticationFailed,
    ModelNotFound,
    ProviderError,
    redact,
)

if TYPE_CHECKING:
    from auterity_ai_step.contract.policy import CircuitSettings

__all__ = ["CircuitBreaker", "CircuitState", "Quarantine", "counts_as_failure"]

log = logging.getLogger("auterity_ai_step.health")  # the name operators already filter on

CircuitState = Literal["closed", "open", "half_open"]


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
