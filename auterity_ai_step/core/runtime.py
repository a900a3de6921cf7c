"""What a face runs on: the policy source, the ledger, the circuit breaker and the health
monitor, opened together from settings or from objects a host hands over.

The faces (API, CLI, service) name these handles through this module and never reach
below the core for them: :class:`Runtime` is the one place that knows how the pieces are
wired, so the API shows and changes exactly what running steps use. The handle types
(``Ledger``, ``PolicyStore``, ``HealthMonitor``, ...) are the store's, policy source's and
routing's own classes; a host may build them itself and pass them in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..routing.circuit import CircuitBreaker
from ..routing.health import HealthMonitor, HealthStatus
from ..store.ledger import Ledger, stored_model_configurations
from .policy_source import PolicyStore

__all__ = [
    "CircuitBreaker",
    "HealthMonitor",
    "HealthStatus",
    "Ledger",
    "PolicyStore",
    "Runtime",
    "read_stored_configurations",
    "scratch_ledger",
]


@dataclass(frozen=True)
class Runtime:
    """A policy source, a ledger and a health monitor that belong together."""

    policy_store: PolicyStore
    ledger: Ledger
    monitor: HealthMonitor

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker the monitor reports (the engine's, when built from one)."""
        return self.monitor.breaker

    @classmethod
    def open(
        cls,
        *,
        policy_store: PolicyStore | None = None,
        ledger: Ledger | None = None,
        monitor: HealthMonitor | None = None,
        policy_path: str | Path | None = None,
        db_url: str | None = None,
    ) -> Runtime:
        """The given objects, the rest from settings: the ledger on ``db_url`` (else the
        environment's), and a PolicyStore on ``policy_path`` (else the environment's or the
        bundled file) that reads the ledger's model configurations as live overrides, so a
        configuration written through the ledger reaches running steps."""
        ledger = Ledger(db_url) if ledger is None else ledger
        if policy_store is None:
            policy_store = PolicyStore(policy_path, overrides=ledger.model_configurations)
        if monitor is None:
            monitor = HealthMonitor.for_policy(policy_store)
        return cls(policy_store, ledger, monitor)

    def close(self) -> None:
        """Release the ledger's connections (only for a runtime this face opened)."""
        self.ledger.close()


@contextmanager
def scratch_ledger(prefix: str = "auterity-try-") -> Iterator[Ledger]:
    """A throwaway SQLite ledger in a temporary directory, removed afterwards: for runs
    whose usage must not touch the real ledger, budget or circuits."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        ledger = Ledger(f"sqlite:///{Path(scratch) / 'try.db'}")
        try:
            yield ledger
        finally:
            ledger.close()


def read_stored_configurations(
    url: str | None = None,
) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """The ledger's stored model configurations without creating a database (None when
    there is none yet); see :func:`auterity_ai_step.store.ledger.stored_model_configurations`."""
    return stored_model_configurations(url)
