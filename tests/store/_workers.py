"""Worker code for the concurrency tests, importable by spawned processes (no pytest)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from auterity_ai_step.contract.policy import CostControls
from auterity_ai_step.errors import LimitExceeded
from auterity_ai_step.money.limits import BudgetGuard, StepAllowance
from auterity_ai_step.store import Ledger, UsageRecord
from auterity_ai_step.store.ledger import LeaseTerms


def make_guard(url: str, budget: Decimal, leases: LeaseTerms | None = None) -> BudgetGuard:
    return BudgetGuard(Ledger(url, budget_leases=leases), CostControls(daily_budget=budget))


def one_step(guard: BudgetGuard, amount: Decimal, tag: str) -> bool:
    """A whole step's money path: reserve the worst case, then settle to the actual cost."""
    allowance = StepAllowance(amount)
    try:
        reservation = guard.reserve_attempt(amount, step_allowance=allowance, execution_id=tag)
    except LimitExceeded:
        return False
    record = UsageRecord(
        tag, "node", "m", "p", 100, 100, amount, 1, "success", None, 1, False, "v1"
    )
    guard.settle(reservation, record)
    return True


def run_steps(url: str, budget: Decimal, amount: Decimal, tags: list[str], threads: int) -> int:
    guard = make_guard(url, budget)
    try:
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(lambda tag: one_step(guard, amount, tag), tags))
    finally:
        guard.ledger.close()


def process_main(
    url: str,
    budget: str,
    amount: str,
    tags: list[str],
    threads: int,
    barrier: Any,
    results: Any,
    leases: LeaseTerms | None = None,
) -> None:
    """Entry point of one worker process: warm up, wait for the others, then race."""
    guard = make_guard(url, Decimal(budget), leases)
    guard.ledger.day_status(guard.today())  # connect and create nothing more during the race
    barrier.wait(timeout=60)
    with ThreadPoolExecutor(threads) as pool:
        ok = sum(pool.map(lambda tag: one_step(guard, Decimal(amount), tag), tags))
    guard.ledger.close()
    results.put(ok)


def lease_and_hang(url: str, budget: str, amount: str, ttl_s: float, results: Any) -> None:
    """A worker that leases a slice, starts one attempt and then hangs (to be killed)."""
    guard = make_guard(url, Decimal(budget), LeaseTerms(Decimal(1), ttl_s))
    reservation = guard.reserve_attempt(
        Decimal(amount), step_allowance=StepAllowance(None), execution_id="killed"
    )
    results.put(reservation.ledger_id)
    threading.Event().wait(600)
