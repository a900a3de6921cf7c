"""Budget leases: workers spend slices of the day, and the slices never exceed the budget.

On real databases: 8 processes hammering a small budget through leases on PostgreSQL never
overspend; a worker killed with SIGKILL while holding a lease and an open attempt gives the
unused rest back once the lease expires, and the open attempt is charged at its worst case;
``Ledger.close`` returns the lease at once.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from _workers import lease_and_hang, make_guard, one_step, process_main
from sqlalchemy import text

from auterity_ai_step.errors import LimitExceeded
from auterity_ai_step.money.limits import StepAllowance
from auterity_ai_step.store import Ledger
from auterity_ai_step.store.ledger import LeaseTerms

STEPS = 240
AMOUNT = Decimal("0.0123456789")
PAID = 37
BUDGET = AMOUNT * PAID
TERMS = LeaseTerms(Decimal("0.1"), 60.0)


def _today() -> datetime:
    return datetime.now(UTC)


def _open_leases(url: str) -> int:
    ledger = Ledger(url)
    try:
        with ledger.engine.connect() as conn:
            sql = text("SELECT COUNT(*) FROM budget_leases WHERE returned_at IS NULL")
            return int(conn.execute(sql).scalar_one())
    finally:
        ledger.close()


def _books(url: str) -> tuple[Decimal, Decimal, int, Decimal]:
    ledger = Ledger(url)
    try:
        spent, reserved = ledger.day_status(_today().date())
        totals = ledger.totals(1)
        return spent, reserved, totals["calls"], totals["total_cost"]
    finally:
        ledger.close()


@pytest.mark.postgres
def test_eight_processes_with_leases_never_overspend_on_postgresql(pg_db_url: str) -> None:
    Ledger(pg_db_url).day_status(_today().date())  # create the tables once, up front
    workers, threads = 8, 2
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    tags = [f"step-{i}" for i in range(STEPS)]
    procs = [
        ctx.Process(
            target=process_main,
            args=(pg_db_url, str(BUDGET), str(AMOUNT), tags[w::workers], threads, barrier),
            kwargs={"results": results, "leases": TERMS},
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    succeeded = sum(results.get(timeout=180) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    # Idle slices elsewhere may refuse an attempt early; never may more than PAID succeed.
    assert 0 < succeeded <= PAID
    spent, reserved, calls, total_cost = _books(pg_db_url)
    assert spent == total_cost == AMOUNT * succeeded <= BUDGET
    assert reserved == 0 and calls == succeeded
    assert _open_leases(pg_db_url) == 0  # every worker returned its leases at close


def _leased_books_hold(url: str) -> None:
    guard = make_guard(url, BUDGET, TERMS)
    day = _today().date()
    try:
        assert one_step(guard, AMOUNT, "first")
        # While the lease is open: its spend counts as spent, the rest of its slice as reserved.
        spent, reserved = guard.ledger.day_status(day)
        assert (spent, reserved) == (AMOUNT, TERMS.slice_of(BUDGET) - AMOUNT)
        assert guard.ledger.budget_spent_between(day, day) == AMOUNT
        results = [True] + [one_step(guard, AMOUNT, f"t{i}") for i in range(PAID + 4)]
        # One worker returns its slice before leasing the next: it can spend the whole budget.
        assert results.count(True) == PAID
        spent, reserved = guard.ledger.day_status(day)
        assert spent == BUDGET and spent + reserved <= BUDGET
        assert guard.ledger.budget_spent_between(day, day) == BUDGET
        assert guard.ledger.totals(1)["calls"] == PAID
        with guard.ledger.engine.connect() as conn:
            leased = conn.execute(text("SELECT COUNT(*) FROM budget_reservations")).scalar_one()
        assert leased == 0  # every reservation row was settled
    finally:
        guard.ledger.close()
    assert _books(url) == (BUDGET, Decimal(0), PAID, BUDGET)


def test_leased_reservations_book_like_direct_ones_on_sqlite(sqlite_url: str) -> None:
    _leased_books_hold(sqlite_url)


@pytest.mark.postgres
def test_leased_reservations_book_like_direct_ones_on_postgresql(pg_db_url: str) -> None:
    _leased_books_hold(pg_db_url)


def _close_returns_the_lease(url: str) -> None:
    budget = Decimal("1")
    holder = make_guard(url, budget, LeaseTerms(Decimal("0.5"), 600.0))
    assert one_step(holder, Decimal("0.1"), "a")
    other = make_guard(url, budget)  # no leases: reserves on the day row directly
    try:
        with pytest.raises(LimitExceeded):  # half the day sits in the holder's lease
            other.reserve_attempt(Decimal("0.6"), step_allowance=StepAllowance(None))
        holder.ledger.close()
        reservation = other.reserve_attempt(Decimal("0.9"), step_allowance=StepAllowance(None))
        assert reservation.ledger_id is not None
        spent, reserved = other.ledger.day_status(_today().date())
        assert (spent, reserved) == (Decimal("0.1"), Decimal("0.9"))
    finally:
        other.ledger.close()
    assert _open_leases(url) == 0


def test_close_returns_the_lease_on_sqlite(sqlite_url: str) -> None:
    _close_returns_the_lease(sqlite_url)


@pytest.mark.postgres
def test_close_returns_the_lease_on_postgresql(pg_db_url: str) -> None:
    _close_returns_the_lease(pg_db_url)


def _killed_workers_lease_comes_back(url: str) -> None:
    budget, amount, ttl_s = Decimal("1"), Decimal("0.25"), 5.0
    Ledger(url).day_status(_today().date())
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=lease_and_hang, args=(url, str(budget), str(amount), ttl_s, results))
    proc.start()
    try:
        killed_reservation = results.get(timeout=60)
    finally:
        proc.kill()  # SIGKILL: no close, no atexit
        proc.join(timeout=30)
    assert proc.exitcode == -9
    other = make_guard(url, budget, TERMS)
    try:
        with pytest.raises(LimitExceeded):  # the whole day is in the dead worker's lease
            other.reserve_attempt(Decimal("0.5"), step_allowance=StepAllowance(None))
        deadline = time.monotonic() + 60
        while True:  # waiting for the lease to expire, not timing anything
            time.sleep(0.2)
            try:  # a refused lease reclaims expired ones and tries again
                reservation = other.reserve_attempt(
                    Decimal("0.5"), step_allowance=StepAllowance(None)
                )
                break
            except LimitExceeded:
                if time.monotonic() > deadline:
                    pytest.fail("the killed worker's lease never came back")
        assert reservation.ledger_id is not None
        # The killed worker's open attempt is an ordinary reservation now, and the ordinary
        # expiry charges it at its worst case; the rest of its lease went back.
        assert other.ledger.expire_reservations(0) == 1
        other.ledger.release(reservation.ledger_id)
        spent, reserved = other.ledger.day_status(_today().date())
        assert spent == amount
        with other.ledger.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT lease_id, expired_at IS NOT NULL FROM budget_reservations WHERE id = :i"
                ),
                {"i": killed_reservation},
            ).one()
        assert row == (None, True)
    finally:
        other.ledger.close()
    spent, reserved, _, _ = _books(url)
    assert (spent, reserved) == (amount, Decimal(0))


def test_killed_workers_lease_comes_back_on_sqlite(sqlite_url: str) -> None:
    _killed_workers_lease_comes_back(sqlite_url)


@pytest.mark.postgres
def test_killed_workers_lease_comes_back_on_postgresql(pg_db_url: str) -> None:
    _killed_workers_lease_comes_back(pg_db_url)


def test_lease_terms_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="fraction"):
        LeaseTerms(Decimal(0))
    with pytest.raises(ValueError, match="ttl_s"):
        LeaseTerms(Decimal("0.1"), 0)
