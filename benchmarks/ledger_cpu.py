"""CPU per attempt of the ledger's hot path: reserve the worst case, then settle with a row.

Measures ``Ledger.reserve`` + ``Ledger.settle`` (what ``BudgetGuard`` calls for every
attempt) on a SQLite file, against plain ``sqlite3`` issuing the same statements, in the
same transactions, on another file with the same tables, in the same process. Rounds of
both are interleaved; the figure is the median CPU time (``time.process_time``) per attempt.

    python -m benchmarks.ledger_cpu [--attempts 2000] [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from auterity_ai_step.store.ledger import Ledger
from auterity_ai_step.store.records import UsageRecord

AMOUNT = Decimal("0.0001")
COST = Decimal("0.000042")
BUDGET = Decimal("1000000")
ALERT_AT = BUDGET * 80 / 100
DAY = date(2026, 1, 1)


def _record(i: int) -> UsageRecord:
    return UsageRecord(
        f"ex-{i}", "node", "m", "p", 100, 20, COST, 1, "success", None, 1, False, "v"
    )


def ledger_attempts(ledger: Ledger, n: int) -> float:
    """CPU seconds per reserve + settle through the ledger."""
    records = [_record(i) for i in range(n)]
    start = time.process_time()
    for record in records:
        rid = ledger.reserve(AMOUNT, day=DAY, daily_budget=BUDGET, execution_id=record.execution_id)
        ledger.settle(rid, record, day=DAY, alert_at=ALERT_AT)
    return (time.process_time() - start) / n


def _scaled(value: Decimal) -> int:
    return int(value.scaleb(10))


def plain_attempts(path: Path, n: int) -> float:
    """CPU seconds per the same statements through plain sqlite3 (money as scaled integers)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    records = [_record(i) for i in range(n)]
    start = time.process_time()
    for r in records:
        amount, budget = _scaled(AMOUNT), _scaled(BUDGET)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE budget_days SET reserved=reserved + ? WHERE day = ? AND scope = ? "
            "AND spent + reserved + ? <= ?",
            (amount, DAY.isoformat(), "global", amount, budget),
        )
        rid = conn.execute(
            "INSERT INTO budget_reservations (day, scope, amount, execution_id, created_at, "
            "expired_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (DAY.isoformat(), "global", amount, r.execution_id, _now(), None),
        ).fetchone()[0]
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO model_usage (id, execution_id, node_id, model_name, provider, "
            "prompt_tokens, completion_tokens, total_tokens, cost, latency_ms, status, "
            "error_type, attempt, is_fallback, price_version, created_at, usage_anomaly) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(uuid.uuid4()),
                r.execution_id,
                r.node_id,
                r.model_name,
                r.provider,
                r.prompt_tokens,
                r.completion_tokens,
                r.total_tokens,
                _scaled(r.cost),
                r.latency_ms,
                r.status,
                r.error_type,
                r.attempt,
                r.is_fallback,
                r.price_version,
                _now(),
                r.usage_anomaly,
            ),
        )
        conn.execute(
            "DELETE FROM budget_reservations WHERE id = ? RETURNING day, scope, amount, expired_at",
            (rid,),
        ).fetchone()
        conn.execute(
            "UPDATE budget_days SET spent=spent + ?, reserved=reserved - ? "
            "WHERE day = ? AND scope = ?",
            (_scaled(r.cost), amount, DAY.isoformat(), "global"),
        )
        conn.execute(
            "UPDATE budget_days SET alerted=1 WHERE day = ? AND scope = ? AND alerted = 0 "
            "AND spent >= ?",
            (DAY.isoformat(), "global", _scaled(ALERT_AT)),
        )
        conn.execute("COMMIT")
    cpu = (time.process_time() - start) / n
    conn.close()
    return cpu


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the ledger's top functions")
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(f"sqlite:///{tmp}/ledger.db")
        plain = Ledger(f"sqlite:///{tmp}/plain.db")
        for each in (ledger, plain):
            each.reserve(Decimal(0), day=DAY, daily_budget=BUDGET)  # tables and the day row
        plain.close()
        ledger_attempts(ledger, 200)  # warm the statement caches
        plain_attempts(Path(tmp) / "plain.db", 200)
        ours, bare = [], []
        for _ in range(ns.rounds):
            ours.append(ledger_attempts(ledger, ns.attempts))
            bare.append(plain_attempts(Path(tmp) / "plain.db", ns.attempts))
        if ns.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            ledger_attempts(ledger, ns.attempts)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        ledger.close()
    a, b = statistics.median(ours) * 1e6, statistics.median(bare) * 1e6
    print(f"reserve+settle CPU per attempt, SQLite file, {ns.attempts} attempts x {ns.rounds}")
    print(f"  ledger:         {a:8.0f} us  (min {min(ours) * 1e6:.0f}, max {max(ours) * 1e6:.0f})")
    print(f"  plain sqlite3:  {b:8.0f} us  (min {min(bare) * 1e6:.0f}, max {max(bare) * 1e6:.0f})")
    print(f"  ratio:          {a / b:8.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
