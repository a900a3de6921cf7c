"""Stop PostgreSQL in the middle of a run: no usage row is lost and no budget is overspent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pg_server import PostgresServer

from auterity_ai_step.contract.policy import CostControls
from auterity_ai_step.errors import LimitExceeded, StoreError
from auterity_ai_step.money.limits import BudgetGuard, StepAllowance
from auterity_ai_step.store import Ledger, UsageRecord

pytestmark = pytest.mark.postgres
D = Decimal


def row(tag: str, cost: Decimal) -> UsageRecord:
    return UsageRecord("run-1", tag, "m", "p", 10, 10, cost, 5, "success", None, 1, False, "v")


def test_postgres_outage_keeps_every_row(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("auterity_outage")
    guard = BudgetGuard(Ledger(url), CostControls(daily_budget=D("1.00")))
    step = StepAllowance(None)
    guard.settle(guard.reserve_attempt(D("0.25"), step_allowance=step), row("before", D("0.2")))
    in_flight = [guard.reserve_attempt(D("0.25"), step_allowance=step) for _ in range(2)]

    postgres_server.stop()
    try:
        # Paid calls finish while the database is down: their rows go to the outbox.
        for n, reservation in enumerate(in_flight):
            guard.settle(reservation, row(f"during-{n}", D("0.1")))
        assert guard.ledger.outbox.pending() == 2
        # No new spending can be guaranteed, so none is allowed.
        with pytest.raises(StoreError):
            guard.reserve_attempt(D("0.01"), step_allowance=step)
        assert step.reserved == 0
    finally:
        postgres_server.start()

    # A different worker (same database, same spool) may be the one that flushes.
    other = Ledger(url)
    assert other.flush_pending() == 2
    assert guard.ledger.outbox.pending() == 0
    spent, reserved = other.day_status(guard.today())
    assert (spent, reserved) == (D("0.4"), D(0))
    assert sorted(r["node_id"] for r in other.execution_usage("run-1")) == [
        "before",
        "during-0",
        "during-1",
    ]
    # The reconnected ledger carries on; the budget still holds exactly.
    guard.settle(guard.reserve_attempt(D("0.6"), step_allowance=step), row("after", D("0.6")))
    with pytest.raises(LimitExceeded, match="daily_budget"):
        guard.reserve_attempt(D("0.0000000001"), step_allowance=step)
    assert other.day_status(guard.today()) == (D("1.0"), D(0))
    guard.ledger.close()
    other.close()
