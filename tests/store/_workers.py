"""Worker code for the concurrency tests, importable by spawned processes (no pytest)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from auterity_ai_step.contract.policy import CostControls
from auterity_ai_step.errors import LimitExceeded
from auterity_ai_step.money.limits import BudgetGuard, StepAllowance
from auterity_ai_step.store import Ledger, UsageRecord


def make_guard(url: str, budget: Decimal) -> BudgetGuard:
    return BudgetGuard(Ledger(url), CostControls(daily_budget=budget))


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
    url: str, budget: str, amount: str, tags: list[str], threads: int, barrier: Any, results: Any
) -> None:
    """Entry point of one worker process: warm up, wait for the others, then race."""
    guard = make_guard(url, Decimal(budget))
    guard.ledger.day_status(guard.today())  # connect and create nothing more during the race
    barrier.wait(timeout=60)
    with ThreadPoolExecutor(threads) as pool:
        ok = sum(pool.map(lambda tag: one_step(guard, Decimal(amount), tag), tags))
    guard.ledger.close()
    results.put(ok)
