"""The proof: 200 concurrent steps against a budget that pays for exactly N of them.

Every step reserves its worst case and settles to exactly that, so exactly N may succeed;
any lost update or unserialised check would let more through (or fewer, if a reservation
leaked). Run with threads, coroutines and spawned processes on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from _workers import make_guard, one_step, process_main, run_steps

from auterity_ai_step.store import Ledger

STEPS = 200
PAID = 37
AMOUNT = Decimal("0.0123456789")
BUDGET = AMOUNT * PAID


def check_books(url: str, succeeded: int) -> None:
    assert succeeded == PAID
    ledger = Ledger(url)
    try:
        spent, reserved = ledger.day_status(datetime.now(UTC).date())
        assert spent == BUDGET and reserved == 0
        totals = ledger.totals(1)
        assert totals["calls"] == PAID and totals["total_cost"] == BUDGET <= BUDGET
    finally:
        ledger.close()


def run_processes(url: str, workers: int, threads: int) -> int:
    Ledger(url).day_status(datetime.now(UTC).date())  # create the tables once, up front
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    tags = [f"step-{i}" for i in range(STEPS)]
    procs = [
        ctx.Process(
            target=process_main,
            args=(url, str(BUDGET), str(AMOUNT), tags[w::workers], threads, barrier, results),
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    counts = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return sum(counts)


def test_sqlite_threads(sqlite_url: str) -> None:
    ok = run_steps(sqlite_url, BUDGET, AMOUNT, [f"s{i}" for i in range(STEPS)], threads=8)
    check_books(sqlite_url, ok)


async def test_sqlite_coroutines(sqlite_url: str) -> None:
    guard = make_guard(sqlite_url, BUDGET)
    results = await asyncio.gather(
        *(asyncio.to_thread(one_step, guard, AMOUNT, f"c{i}") for i in range(STEPS))
    )
    guard.ledger.close()
    check_books(sqlite_url, sum(results))


def test_sqlite_processes(sqlite_url: str) -> None:
    check_books(sqlite_url, run_processes(sqlite_url, workers=4, threads=3))


@pytest.mark.postgres
def test_postgresql_processes(pg_db_url: str) -> None:
    check_books(pg_db_url, run_processes(pg_db_url, workers=4, threads=4))
