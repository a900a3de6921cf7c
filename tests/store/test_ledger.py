"""The ledger on real SQLite and PostgreSQL: money exact, queries, configurations, outbox."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from auterity_ai_step.errors import LimitExceeded, StoreError
from auterity_ai_step.store import Ledger, UsageRecord
from auterity_ai_step.store.outbox import Outbox

D = Decimal
TODAY = datetime.now(UTC).date()


def usage(
    cost: str = "0.01",
    *,
    execution_id: str | None = "ex1",
    model: str = "gpt-4",
    status: str = "success",
    attempt: int = 1,
    at: datetime | None = None,
) -> UsageRecord:
    extra = {} if at is None else {"created_at": at}
    return UsageRecord(
        execution_id,
        "node-1",
        model,
        "openai",
        100,
        20,
        D(cost),
        42,
        status,
        None if status == "success" else "timeout",
        attempt,
        attempt > 1,
        "v1",
        **extra,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def ledger(db_url: str) -> Ledger:
    ledger = Ledger(db_url)
    yield ledger
    ledger.close()


def test_reserve_settle_release_and_day_status(ledger: Ledger) -> None:
    r1 = ledger.reserve(D("0.4"), day=TODAY, daily_budget=D("1"), execution_id="ex1")
    r2 = ledger.reserve(D("0.6"), day=TODAY, daily_budget=D("1"))
    assert ledger.day_status(TODAY) == (D(0), D("1.0"))
    with pytest.raises(LimitExceeded) as info:
        ledger.reserve(D("0.0000000001"), day=TODAY, daily_budget=D("1"))
    assert info.value.remaining == 0 and info.value.limit == "daily_budget"
    assert ledger.settle(r1, usage("0.1234567891"), alert_at=D("0.1")) is True
    ledger.release(r2, usage("0", status="error", attempt=2))
    assert ledger.day_status(TODAY) == (D("0.1234567891"), D(0))
    assert ledger.day_status(TODAY - timedelta(days=1)) == (D(0), D(0))
    rows = ledger.execution_usage("ex1")
    assert [(r["attempt"], r["status"], r["cost"]) for r in rows] == [
        (1, "success", D("0.1234567891")),
        (2, "error", D(0)),
    ]
    json.dumps(rows, default=str)
    assert rows[0]["created_at"].endswith("+00:00") and rows[0]["total_tokens"] == 120


def test_daily_budget_refusal_writes_money_plainly(ledger: Ledger) -> None:
    with pytest.raises(LimitExceeded) as info:
        ledger.reserve(D("0.0002"), day=TODAY, daily_budget=D("0.0001"))
    assert str(info.value) == (
        f"daily_budget 0.0001 for {TODAY.isoformat()}: 0.0001 left (spent 0, reserved 0), "
        "attempt needs up to 0.0002"
    )
    ledger.reserve(D("0.00006"), day=TODAY, daily_budget=D("0.0001"))
    with pytest.raises(LimitExceeded) as info:
        ledger.reserve(D("0.00006"), day=TODAY, daily_budget=D("0.0001"))
    assert "0.00004 left (spent 0, reserved 0.00006), attempt needs up to 0.00006" in str(
        info.value
    )


def test_money_round_trips_exactly(ledger: Ledger) -> None:
    for cost in ("0.0000000001", "12345678.9999999999", "0.03702"):
        ledger.record(usage(cost, execution_id=cost))
        assert ledger.execution_usage(cost)[0]["cost"] == D(cost)
    ledger.record(usage("0.1"), day=TODAY)
    ledger.record(usage("0.2"), day=TODAY)
    assert ledger.day_status(TODAY)[0] == D("0.3")  # not 0.30000000000000004


def test_negative_money_is_refused_before_it_is_stored(ledger: Ledger) -> None:
    """No cost or reservation below zero: the API's money fields are non-negative."""
    with pytest.raises(ValueError, match=r"cost must be >= 0 US dollars \(got -0.01\)"):
        usage("-0.01")
    with pytest.raises(ValueError, match="cost must be >= 0"):
        usage("NaN")
    with pytest.raises(ValueError, match=r"reservation must be >= 0 US dollars \(got -1\)"):
        ledger.reserve(D(-1), day=TODAY, daily_budget=None)
    assert ledger.day_status(TODAY) == (D(0), D(0))


def test_no_budget_still_tracks_reservations(ledger: Ledger) -> None:
    rid = ledger.reserve(D(5), day=TODAY, daily_budget=None)
    assert ledger.day_status(TODAY) == (D(0), D(5))
    ledger.settle(rid, usage("1"))
    assert ledger.day_status(TODAY) == (D(1), D(0))


def test_expiry_charges_the_worst_case_and_a_late_settle_corrects_it(ledger: Ledger) -> None:
    rid = ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(1))
    assert ledger.expire_reservations(older_than_s=3600) == 0
    assert ledger.expire_reservations(older_than_s=-1) == 1
    # The attempt may have reached the provider: its worst case is spent, not returned.
    assert ledger.day_status(TODAY) == (D("0.5"), D(0))
    assert ledger.expire_reservations(older_than_s=-1) == 0  # charged once
    ledger.settle(rid, usage("0.25"), day=TODAY)
    assert ledger.day_status(TODAY) == (D("0.25"), D(0))
    ledger.settle(None, usage("0.25"))  # neither reservation nor day: row only
    assert ledger.day_status(TODAY) == (D("0.25"), D(0))
    assert len(ledger.execution_usage("ex1")) == 2


def test_a_retried_settle_is_idempotent(ledger: Ledger) -> None:
    rid = ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(1))
    row = usage("0.5")
    ledger.settle(rid, row, day=TODAY)
    ledger.settle(rid, row, day=TODAY)  # e.g. replayed from the outbox after a lost ack
    assert ledger.day_status(TODAY) == (D("0.5"), D(0))
    assert len(ledger.execution_usage("ex1")) == 1


def test_totals_by_model_and_day(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    ledger.record(usage("0.01", model="a", at=now))
    ledger.record(usage("0.02", model="a", at=now - timedelta(days=1), status="error"))
    ledger.record(usage("0.04", model="b", at=now))
    ledger.record(usage("1.00", model="a", at=now - timedelta(days=40)))
    week = ledger.totals(7)
    assert week["total_cost"] == D("0.07") and week["calls"] == 3 and week["errors"] == 1
    assert {m["model_name"]: m["cost"] for m in week["by_model"]} == {
        "a": D("0.03"),
        "b": D("0.04"),
    }
    assert [(d["day"], d["cost"]) for d in week["by_day"]] == [
        ((now - timedelta(days=1)).date().isoformat(), D("0.02")),
        (now.date().isoformat(), D("0.05")),
    ]
    only_b = ledger.totals(1, model="b")
    assert only_b["total_cost"] == D("0.04") and only_b["total_tokens"] == 120
    assert ledger.totals(60)["total_cost"] == D("1.07")
    with pytest.raises(ValueError, match="at least 1"):
        ledger.totals(0)


def test_model_configurations_replace_all(ledger: Ledger) -> None:
    empty_token, configs = ledger.model_configurations()
    assert configs == {}
    ledger.put_model_configurations(
        {
            "fast": {"provider": "openai", "litellm_model": "openai/gpt-4o-mini", "quality": 6},
            "local": {"provider": "ollama", "input_cost_per_1k": D("0")},
        }
    )
    token, configs = ledger.model_configurations()
    assert token != empty_token
    assert configs["fast"]["litellm_model"] == "openai/gpt-4o-mini"
    assert configs["local"] == {"provider": "ollama", "input_cost_per_1k": "0"}
    assert ledger.model_configurations()[0] == token, "unchanged rows, same token"
    ledger.put_model_configurations({"fast": {"provider": "openai", "quality": 7}})
    token2, configs = ledger.model_configurations()
    assert token2 != token and configs == {"fast": {"provider": "openai", "quality": 7}}


def test_outbox_keeps_rows_while_the_database_is_down(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(1))
    real_apply = ledger.book.apply

    def down(*args: object, **kwargs: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(ledger.book, "apply", down)
    assert ledger.settle(rid, usage("0.3"), day=TODAY) is False
    ledger.record(usage("0.1", execution_id="ex2"))
    assert ledger.outbox.pending() == 2
    assert ledger.day_status(TODAY) == (D(0), D("0.5")), "still reserved: no overspend"
    assert ledger.flush_pending() == 0
    monkeypatch.setattr(ledger.book, "apply", real_apply)
    ledger.record(usage("0.2", execution_id="ex3"))  # the next write flushes first
    assert ledger.outbox.pending() == 0
    assert ledger.day_status(TODAY) == (D("0.3"), D(0))
    assert [len(ledger.execution_usage(e)) for e in ("ex1", "ex2", "ex3")] == [1, 1, 1]


def test_a_cost_too_big_for_its_column_is_clamped_and_noted(ledger: Ledger) -> None:
    too_big = usage("123456789012.0")
    ledger.record(too_big)
    [row] = ledger.execution_usage("ex1")
    assert row["cost"] == D("99999999.9999999999")
    assert row["usage_anomaly"] == "cost clamped to 99999999.9999999999"
    assert ledger.outbox.pending() == 0


def test_unreachable_database_for_reserve_and_reads(tmp_path: Path) -> None:
    ledger = Ledger("postgresql://nobody@127.0.0.1:1/none", spool_path=tmp_path / "o.jsonl")
    assert ledger.engine.url.drivername == "postgresql+psycopg"
    with pytest.raises(StoreError, match="could not reserve"):
        ledger.reserve(D(1), day=TODAY, daily_budget=D(2))
    with pytest.raises(StoreError):
        ledger.day_status(TODAY)
    ledger.record(usage("0.5"))
    assert json.loads((tmp_path / "o.jsonl").read_text())["record"]["cost"] == "0.5"


def test_default_url_and_unsupported_backend(tmp_path: Path) -> None:
    ledger = Ledger()
    assert ledger.backend == "sqlite" and "default-ledger.db" in ledger.url
    ledger.record(usage())
    assert Path(str(ledger.outbox.path)).name == "default-ledger.db.outbox.jsonl"
    with pytest.raises(StoreError, match="unsupported database"):
        Ledger("mysql://x@localhost/db")
    bare = Ledger(f"sqlite:///{tmp_path / 'bare.db'}", create_tables=False)
    with pytest.raises(StoreError):
        bare.day_status(TODAY)


def test_outbox_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    box = Outbox(blocker / "cannot" / "be.jsonl")  # parent is a file: not writable
    box.add({"n": 1})
    assert box.has_pending() and box.pending() == 1 and box._memory == [{"n": 1}]
    memory_only = Outbox(None)
    assert not memory_only.has_pending()
    memory_only.add({"n": 1})
    memory_only.add({"n": 2})
    seen: list[int] = []
    failed: list[int] = []

    def apply(entry: dict[str, int]) -> None:
        if entry["n"] == 2 and not failed:
            failed.append(2)
            raise OSError("down")
        seen.append(entry["n"])

    assert memory_only.drain(apply) == 1 and memory_only.pending() == 1
    assert memory_only.drain(apply) == 1 and not memory_only.has_pending()
    assert seen == [1, 2]


def test_in_memory_sqlite_works_without_spool() -> None:
    ledger = Ledger("sqlite://")
    assert ledger.outbox.path is None
    ledger.record(usage(), day=date(2024, 1, 1))
    assert ledger.day_status(date(2024, 1, 1))[0] == D("0.01")


def test_the_hot_path_stores_values_as_the_tables_read_them(ledger: Ledger) -> None:
    """reserve and settle write through the driver; reads, reports and expiry go through
    SQLAlchemy's types: times (a whole second too), money and flags must agree."""
    whole_second = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    later = whole_second + timedelta(microseconds=1)
    day = whole_second.date()
    first = ledger.reserve(D("0.0000000001"), day=day, daily_budget=D("99999999.9"))
    ledger.settle(first, usage("0.0000000001", at=later), day=day, alert_at=D(0))
    ledger.settle(None, usage("12345678.1234567891", at=whole_second), day=day)
    rows = ledger.execution_usage("ex1")
    assert [r["created_at"] for r in rows] == [whole_second.isoformat(), later.isoformat()]
    assert [r["cost"] for r in rows] == [D("12345678.1234567891"), D("0.0000000001")]
    assert [r["is_fallback"] for r in rows] == [False, False]
    assert ledger.day_status(day) == (D("12345678.1234567892"), D(0))
    held = ledger.reserve(D("0.25"), day=day, daily_budget=None)
    assert ledger.expire_reservations(older_than_s=-1) == 1, "expiry reads the stored time"
    assert ledger.day_status(day) == (D("12345678.3734567892"), D(0))
    ledger.settle(held, usage("0.05", execution_id="ex2"), day=day)
    assert ledger.day_status(day) == (D("12345678.1734567892"), D(0)), "charged once"
