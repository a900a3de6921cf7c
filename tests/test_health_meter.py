"""Health checks metered like steps (``health_meter.LedgerProbeMeter`` on a real SQLite
ledger): reserve the worst case, settle with a usage row, never leak a reservation.

The prober is an in-process fake (the layer above the gateway); the API tests show the same
over HTTP with the simulator.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from auterity_ai_step.contract.policy import ModelSpec, parse_policy
from auterity_ai_step.core.health_meter import HEALTH_CHECK_NODE, LedgerProbeMeter
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.errors import ProviderUnavailable
from auterity_ai_step.money.prices import price_for, worst_case_cost
from auterity_ai_step.routing import gateway
from auterity_ai_step.routing.health import CircuitBreaker, HealthMonitor
from auterity_ai_step.store.ledger import Ledger

POLICY = {
    "models": {
        "hosted": {
            "provider": "openai",
            "input_cost_per_1k": "0.001",
            "output_cost_per_1k": "0.002",
            "context_window": 8000,
        }
    },
    "routing_rules": {"default_model": "hosted"},
    "cost_controls": {"daily_budget": "1"},
}


@pytest.fixture
def ledger(sqlite_url: str) -> Any:
    store = Ledger(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def store() -> PolicyStore:
    return PolicyStore.fixed(parse_policy(POLICY))


def _rows(ledger: Ledger) -> list[dict[str, Any]]:
    with ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("select * from model_usage"))]


def _reserved(ledger: Ledger) -> Decimal:
    return ledger.day_status(datetime.now(UTC).date())[1]


def _worst(store: PolicyStore) -> Decimal:
    spec = store.current().model("hosted")
    price = price_for(spec)
    assert price is not None
    return worst_case_cost(price, gateway.count_tokens(spec, gateway.PROBE_MESSAGES), 1)


def _monitor(store: PolicyStore, outcome: BaseException | None, calls: list[str]) -> HealthMonitor:
    async def prober(spec: ModelSpec, timeout: float) -> float:
        calls.append(spec.name)
        if outcome is not None:
            raise outcome
        return 12.0

    return HealthMonitor(store, CircuitBreaker(), prober=prober)


@pytest.mark.parametrize(
    ("outcome", "charged", "status", "error_type"),
    [
        (None, True, "success", None),
        (TimeoutError(), True, "error", "timeout"),
        (ProviderUnavailable("hosted: HTTP 503", model="hosted"), False, "error", "unavailable"),
    ],
)
async def test_a_check_is_reserved_then_settled_with_its_row(
    ledger: Ledger,
    store: PolicyStore,
    outcome: BaseException | None,
    charged: bool,
    status: str,
    error_type: str | None,
) -> None:
    calls: list[str] = []
    seen = await _monitor(store, outcome, calls).health_check(
        "hosted", meter=LedgerProbeMeter(ledger, store)
    )
    assert calls == ["hosted"] and (seen.status == "available") == (outcome is None)
    (row,) = _rows(ledger)
    assert row["node_id"] == HEALTH_CHECK_NODE and row["execution_id"] is None
    assert (row["status"], row["error_type"]) == (status, error_type)
    cost = _worst(store) if charged else Decimal(0)
    assert ledger.totals(1)["total_cost"] == cost and (cost > 0) == charged
    spent, reserved = ledger.day_status(datetime.now(UTC).date())
    assert (spent, reserved) == (cost, 0)


async def test_a_check_the_budget_cannot_hold_makes_no_request(
    ledger: Ledger, sqlite_url: str
) -> None:
    tight = PolicyStore.fixed(
        parse_policy({**POLICY, "cost_controls": {"daily_budget": "0.0000001"}})
    )
    calls: list[str] = []
    with pytest.raises(Exception, match="daily_budget"):
        await _monitor(tight, None, calls).health_check(
            "hosted", meter=LedgerProbeMeter(ledger, tight)
        )
    assert calls == [] and _rows(ledger) == [] and _reserved(ledger) == 0


async def test_a_check_cancelled_while_reserving_leaks_nothing(
    ledger: Ledger, store: PolicyStore
) -> None:
    calls: list[str] = []
    monitor = _monitor(store, None, calls)
    gateway.count_tokens(store.current().model("hosted"), gateway.PROBE_MESSAGES)  # warm
    assert _reserved(ledger) == 0  # the ledger's tables exist before the race starts
    task = asyncio.create_task(
        monitor.health_check("hosted", meter=LedgerProbeMeter(ledger, store))
    )
    await asyncio.sleep(0)  # the check is now waiting for its reservation (a worker thread)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(6000):  # the reservation finishes in its thread, then is undone
        if _rows(ledger) and _reserved(ledger) == 0:
            break
        await asyncio.sleep(0.01)
    (row,) = _rows(ledger)
    assert calls == [] and ledger.totals(1)["total_cost"] == 0 and row["status"] == "error"
    assert _reserved(ledger) == 0
