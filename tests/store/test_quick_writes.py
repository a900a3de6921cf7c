"""Quick ledger writes: a SQLite write runs on the event loop only when it cannot wait.

Steps run through the executor with the in-process fake gateway (the claims are about the
ledger, above the gateway) on real SQLite files, and one on PostgreSQL. A second
connection holding the file's write lock stands for another worker process.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sim_policy import sim_policy_file

from auterity_ai_step import AIStepExecutor, WorkflowNode, nowait
from auterity_ai_step.core import offload as offload_module
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.money.limits import BudgetAlert
from auterity_ai_step.routing.fake_gateway import ScriptedGateway, answer
from auterity_ai_step.store import driver as driver_module
from auterity_ai_step.store.ledger import LeaseTerms, Ledger

STEP = {"config_version": 2, "prompt": "Hi {{ name }}", "model": "gpt-4o-mini", "max_tokens": 100}


class FakeProvider(ScriptedGateway):
    base_url = "http://127.0.0.1:9"  # fills the policy's api_base; never called

    def __init__(self) -> None:
        super().__init__(default=answer(completion_tokens=100))


def _executor(
    tmp_path: Path, url: str, *, check_interval_s: float = 0.05, **policy: Any
) -> AIStepExecutor:
    provider = FakeProvider()
    path = sim_policy_file(tmp_path, provider.base_url, **policy)
    store = PolicyStore(path, check_interval_s=check_interval_s)
    return AIStepExecutor(engine=Engine(store, Ledger(url), gateway=provider))


async def _step(executor: AIStepExecutor, exec_id: str) -> Any:
    node = WorkflowNode(id="n", type="ai", data=STEP)
    result = await executor.execute_step(node, {"name": exec_id}, execution_id=exec_id)
    assert result.success, result.error_message
    return result


def _count_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the calls ``offload`` hands to a worker thread."""
    sent: list[str] = []
    real = asyncio.to_thread

    async def counted(work: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(work, "__qualname__", repr(work)))
        return await real(work, *args, **kwargs)

    monkeypatch.setattr(offload_module.asyncio, "to_thread", counted)
    return sent


def _file(url: str) -> str:
    return url.removeprefix("sqlite:///")


async def test_steps_write_the_sqlite_ledger_on_the_loop_once_it_is_open(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = _executor(tmp_path, sqlite_url, check_interval_s=3600)
    sent = _count_threads(monkeypatch)
    first = await _step(executor, "e0")  # opens the ledger (tables, connections) in threads
    assert sent, "the first step must open the ledger off the loop"
    sent.clear()
    results = [await _step(executor, f"e{i}") for i in range(1, 4)]
    assert sent == []  # claim, reserve, settle, kept answer and policy: none needed a thread
    rows = executor.ledger.execution_usage("e2")
    assert [r["status"] for r in rows] == ["success"]
    spent, reserved = executor.ledger.day_status(executor.engine.guard.today())
    assert reserved == 0
    assert spent == sum(Decimal(r.output_data["ai_cost"]) for r in [first, *results])
    # The kept answer is there: the same step again is replayed, not called.
    again = await _step(executor, "e3")
    assert again.output_data["ai_replayed"] is True
    executor.ledger.close()


async def test_a_locked_file_sends_the_write_to_a_thread_and_the_loop_keeps_running(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = _executor(tmp_path, sqlite_url)
    await _step(executor, "warm")
    sent = _count_threads(monkeypatch)
    other = sqlite3.connect(_file(sqlite_url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another worker holds the write lock
    step = asyncio.create_task(_step(executor, "while-locked"))
    ticks = 0
    for _ in range(20):  # the loop turns while the step waits for the lock in a thread
        await asyncio.sleep(0.01)
        ticks += 1
    assert not step.done()
    assert ticks == 20
    assert "StepClaims.claim" in " ".join(sent) or "Ledger.claim_step" in " ".join(sent)
    other.execute("COMMIT")
    other.close()
    result = await asyncio.wait_for(step, timeout=30)
    assert result.success
    rows = executor.ledger.execution_usage("while-locked")
    assert [r["status"] for r in rows] == ["success"]
    assert executor.ledger.day_status(executor.engine.guard.today())[1] == 0
    executor.ledger.close()


async def test_a_lock_held_for_a_moment_is_waited_for_on_the_loop_not_in_a_thread(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint or another worker's write holds the file for milliseconds: the quick
    try pauses (``asyncio.sleep``) and tries again instead of sending the write to a thread,
    where it would hold the lock while it waits for the GIL and make the next tries fail."""
    executor = _executor(tmp_path, sqlite_url, check_interval_s=3600)
    await _step(executor, "warm")
    sent = _count_threads(monkeypatch)
    other = sqlite3.connect(_file(sqlite_url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    # Released by the loop itself 5 ms on, during the quick try's pauses (about 60 ms in
    # all), however loaded the machine is.
    asyncio.get_running_loop().call_later(0.005, other.execute, "COMMIT")
    result = await _step(executor, "after-a-moment")
    other.close()
    assert result.success
    assert sent == []
    assert [r["status"] for r in executor.ledger.execution_usage("after-a-moment")] == ["success"]
    executor.ledger.close()


def test_a_quick_transaction_refuses_a_locked_file_before_changing_anything(
    sqlite_url: str,
) -> None:
    ledger = Ledger(sqlite_url)
    driver = ledger.book.driver
    with nowait.quick_scope(), pytest.raises(nowait.WouldWait):  # no quick connection yet
        ledger.book.reserve(Decimal("0.01"), day=_today(), daily_budget=None)
    ledger.book.reserve(Decimal("0.01"), day=_today(), daily_budget=None)  # opens it
    assert driver._quick_raw is not None
    other = sqlite3.connect(_file(sqlite_url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with nowait.quick_scope() as scope, pytest.raises(nowait.WouldWait):
            ledger.book.reserve(Decimal("0.02"), day=_today(), daily_budget=None)
        assert scope.armed
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert ledger.day_status(_today()) == (Decimal(0), Decimal("0.01"))
    with nowait.quick_scope() as scope:
        ledger.book.reserve(Decimal("0.02"), day=_today(), daily_budget=None)
        assert not scope.armed  # it changed rows: nothing in this scope refuses any more
        assert ledger.execution_usage("nobody") == []  # so this one runs, and waits if need be
    assert ledger.day_status(_today()) == (Decimal(0), Decimal("0.03"))
    ledger.close()
    assert driver._quick_raw is None


def test_a_quick_transaction_that_changes_nothing_keeps_the_scope_armed(
    sqlite_url: str,
) -> None:
    ledger = Ledger(sqlite_url)
    ledger.book.reserve(Decimal("0.01"), day=_today(), daily_budget=None)  # opens it
    with nowait.quick_scope() as scope:
        assert ledger.book.driver.transaction(lambda cur: cur.execute("SELECT 1").fetchone())
        assert scope.armed
        with pytest.raises(nowait.WouldWait):  # SQLAlchemy's path never runs quickly
            ledger.execution_usage("nobody")
    ledger.close()


def test_only_a_sqlite_file_without_leases_writes_quickly(
    tmp_path: Path, sqlite_url: str, pg_db_url: str
) -> None:
    assert Ledger(sqlite_url).quick_writes
    assert not Ledger("sqlite://").quick_writes  # in memory: one connection per thread
    assert not Ledger(
        f"sqlite:///{tmp_path}/l.db", budget_leases=LeaseTerms(Decimal("0.1"))
    ).quick_writes
    assert not Ledger(pg_db_url).quick_writes


async def test_postgresql_steps_write_in_threads(
    tmp_path: Path, pg_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = _executor(tmp_path, pg_db_url)
    await _step(executor, "pg0")
    sent = _count_threads(monkeypatch)
    await _step(executor, "pg1")
    named = " ".join(sent)
    for call in ("claim_step", "reserve_attempt", "settle", "finish_step"):
        assert call in named
    assert [r["status"] for r in executor.ledger.execution_usage("pg1")] == ["success"]
    executor.ledger.close()


async def test_budget_alert_hooks_run_in_a_worker_thread_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    executor = _executor(tmp_path, sqlite_url, daily_budget=0.0005, alert_threshold=50)
    seen: list[tuple[BudgetAlert, int]] = []
    executor.on_budget_alert(lambda alert: seen.append((alert, threading.get_ident())))
    loop_thread = threading.get_ident()
    node = WorkflowNode(id="n", type="ai", data=STEP)
    for i in range(12):
        await executor.execute_step(node, {"name": f"a{i}"}, execution_id=f"a{i}")
    assert len(seen) == 1
    assert seen[0][1] != loop_thread
    assert seen[0][0].daily_budget == Decimal("0.0005")
    executor.ledger.close()


def test_quick_commits_leave_wal_checkpoints_to_a_background_thread(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver_module, "CHECKPOINT_EVERY", 3)
    ledger = Ledger(sqlite_url)
    driver = ledger.book.driver
    ledger.book.reserve(Decimal("0.01"), day=_today(), daily_budget=None)  # opens it
    quick = driver._quick_raw.driver_connection
    assert quick.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert quick.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    ran: list[str] = []
    real = driver._checkpoint

    def spied() -> None:
        ran.append(threading.current_thread().name)
        real()

    monkeypatch.setattr(driver, "_checkpoint", spied)
    for _ in range(3):
        with nowait.quick_scope():
            ledger.book.reserve(Decimal("0.01"), day=_today(), daily_budget=None)
    for _ in range(500):
        if ran and not driver._checkpointing.is_set():
            break
        threading.Event().wait(0.01)
    assert ran == ["auterity-ledger-checkpoint"]
    with sqlite3.connect(_file(sqlite_url)) as check:
        busy, frames, done = check.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == done
    ledger.close()


async def test_offload_runs_a_refused_call_whole_in_a_thread() -> None:
    calls: list[tuple[bool, int]] = []

    def work(x: int) -> int:
        quick = nowait.armed()
        calls.append((quick, threading.get_ident()))
        nowait.check()
        return x * 2

    assert await offload_module.offload(work, 21, quick=True) == 42
    assert calls[0] == (True, threading.get_ident())
    assert calls[1][0] is False and calls[1][1] != threading.get_ident()
    calls.clear()
    assert await offload_module.offload(work, 2, quick=False) == 4
    assert len(calls) == 1 and calls[0][1] != threading.get_ident()


async def test_offload_runs_deferred_work_in_a_thread_after_the_quick_call() -> None:
    order: list[str] = []
    loop_thread = threading.get_ident()

    def work() -> str:
        nowait.changed()
        assert nowait.defer(lambda: order.append(f"later {threading.get_ident() != loop_thread}"))
        order.append("work")
        return "done"

    assert await offload_module.offload(work, quick=True) == "done"
    assert order == ["work", "later True"]
    assert nowait.defer(lambda: None) is False  # outside a quick try: the caller runs it


def _today() -> date:
    return date(2026, 12, 6)


async def test_the_wal_starts_over_while_steps_keep_writing_quickly(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps back to back (the fake gateway answers at once) never leave the file idle: a
    checkpoint that copied the WAL while they wrote would never finish, and the WAL would
    only grow. The background checkpoint holds the write lock while it copies, so the WAL
    starts over: at the end it holds a fraction of the frames the steps wrote."""
    monkeypatch.setattr(driver_module, "CHECKPOINT_EVERY", 16)
    executor = _executor(tmp_path, sqlite_url)
    steps = 300
    for i in range(steps):
        await _step(executor, f"w{i}")
    with sqlite3.connect(_file(sqlite_url)) as check:
        frames = check.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    written = steps * 4 * 3  # four commits a step, at least three pages each
    assert frames < written / 4, f"{frames} frames in the WAL after {steps} steps"
    executor.ledger.close()


async def test_a_long_reader_does_not_hold_the_quick_writes_up(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report reading the ledger keeps its snapshot while steps run: the background
    checkpoint copies what it can and returns, so no write waits for the reader (a
    checkpoint that waits for readers would hold the file's write lock meanwhile)."""
    monkeypatch.setattr(driver_module, "CHECKPOINT_EVERY", 4)
    executor = _executor(tmp_path, sqlite_url, check_interval_s=3600)  # no policy check due
    await _step(executor, "warm")
    sent = _count_threads(monkeypatch)
    reader = sqlite3.connect(_file(sqlite_url), isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM model_usage").fetchone() == (1,)
    try:
        for i in range(10):  # 40 quick commits: ten checkpoints while the reader reads
            await _step(executor, f"read-{i}")
            await asyncio.sleep(0.01)  # time for the checkpoint thread to run
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert sent == []
    assert len(executor.ledger.execution_usage("read-9")) == 1
    executor.ledger.close()
