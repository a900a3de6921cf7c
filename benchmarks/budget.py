"""Budget reservations per second (reserve the worst case + settle), over 1 to N processes.

The baseline is one bare durable write transaction (an INSERT) on the same database through
the same engine settings: what a single commit costs there.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from auterity_ai_step.contract.policy import CostControls
from auterity_ai_step.money.limits import BudgetGuard, StepAllowance
from auterity_ai_step.store.ledger import LeaseTerms, Ledger
from auterity_ai_step.store.records import UsageRecord
from benchmarks.common import Stat

AMOUNT = Decimal("0.0001")
_META = MetaData()
_SCRATCH = Table(
    "bench_commit", _META, Column("id", Integer, primary_key=True), Column("tag", String)
)


def _record(tag: str) -> UsageRecord:
    return UsageRecord(tag, "node", "m", "p", 100, 20, AMOUNT, 1, "success", None, 1, False, "v")


def _guard(url: str, leases: LeaseTerms | None) -> BudgetGuard:
    ledger = Ledger(url, budget_leases=leases)
    return BudgetGuard(ledger, CostControls(daily_budget=Decimal("1000000")))


def _reservations(
    url: str, n: int, tag: str, leases: LeaseTerms | None = None
) -> tuple[float, float]:
    """``n`` reserve + settle cycles; (start, end) on the shared monotonic clock."""
    guard = _guard(url, leases)
    guard.ledger.day_status(guard.today())  # connect and create tables before the clock
    start = time.monotonic()
    for i in range(n):
        reservation = guard.reserve_attempt(AMOUNT, step_allowance=StepAllowance(None))
        guard.settle(reservation, _record(f"{tag}-{i}"))
    end = time.monotonic()
    guard.ledger.close()
    return start, end


def _worker(
    url: str, n: int, tag: str, barrier: Any, results: Any, leases: LeaseTerms | None = None
) -> None:
    guard = _guard(url, leases)
    guard.ledger.day_status(guard.today())
    barrier.wait(timeout=120)
    start = time.monotonic()
    for i in range(n):
        reservation = guard.reserve_attempt(AMOUNT, step_allowance=StepAllowance(None))
        guard.settle(reservation, _record(f"{tag}-{i}"))
    results.put((start, time.monotonic()))
    guard.ledger.close()


def bare_commits(url: str, n: int) -> float:
    """Single-row INSERT transactions per second through the ledger's engine."""
    ledger = Ledger(url)
    ledger.day_status(date.today())
    _META.create_all(ledger.engine)
    start = time.monotonic()
    for i in range(n):
        with ledger.engine.begin() as conn:
            conn.execute(insert(_SCRATCH).values(tag=str(i)))
    rate = n / (time.monotonic() - start)
    ledger.close()
    return rate


def reservations_per_second(
    url: str, workers: int, n_each: int, tag: str, leases: LeaseTerms | None = None
) -> float:
    """Aggregate reserve+settle cycles per second over ``workers`` processes racing.

    With ``leases`` every worker reserves inside leased slices of the day (opt-in)."""
    if workers == 1:
        start, end = _reservations(url, n_each, tag, leases)
        return n_each / (end - start)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, n_each, f"{tag}-w{w}", barrier, results, leases))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    spans = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        if proc.exitcode != 0:
            raise RuntimeError(f"budget worker exited with {proc.exitcode}")
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    return workers * n_each / (end - start)


def check_books(url: str, expected_rows: int) -> None:
    """Every cycle left one row and no open reservation."""
    ledger = Ledger(url)
    _spent, reserved = ledger.day_status(
        BudgetGuard(ledger, CostControls(daily_budget=None)).today()
    )
    rows = ledger.totals(1)["calls"]
    ledger.close()
    assert reserved == 0, f"open reservations left: {reserved}"
    assert rows == expected_rows, f"{rows} usage rows, expected {expected_rows}"


def run(
    urls: dict[str, Callable[[int], str]],
    repeats: int,
    n_single: int,
    n_each: int,
    workers: tuple[int, ...],
) -> dict[str, Stat]:
    """Per backend (a fresh database per repeat): bare commits/s, and reservations/s with 1
    process and with each count in ``workers`` (the hook a faster ledger is measured by:
    ``BudgetGuard.reserve_attempt`` + ``settle``, whatever they do underneath)."""
    out: dict[str, Stat] = {}
    for backend, make_url in urls.items():
        bare, one = Stat(), Stat()
        many = {n: Stat() for n in workers if n > 1}
        for r in range(repeats):
            url = make_url(r)
            bare.add(bare_commits(url, n_single))
            one.add(reservations_per_second(url, 1, n_single, f"r{r}-one"))
            for n, got in many.items():
                got.add(reservations_per_second(url, n, n_each, f"r{r}-{n}"))
            check_books(url, n_single + sum(many) * n_each)
        out[f"{backend}:bare"] = bare
        out[f"{backend}:1"] = one
        out.update({f"{backend}:{n}": got for n, got in many.items()})
    return out
