"""A paid call always ends in a ledger row: hostile values, refused writes, expiry races.

Real SQLite files and a real PostgreSQL server. PostgreSQL enforces column sizes, refuses NUL
in text and overflows 32-bit integers: on SQLite alone none of this shows.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, text

from auterity_ai_step.store import Ledger, UsageRecord

D = Decimal
TODAY = datetime.now(UTC).date()
LONG_A = "exec-" + "a" * 295  # 300 characters: over the 255 the column holds
LONG_B = "exec-" + "a" * 294 + "b"  # the same first 299 characters
NUL_ID = "exec\x00evil"


def row(execution_id: str, node_id: str = "node", cost: str = "0.1", **kw: object) -> UsageRecord:
    values: dict[str, object] = {
        "execution_id": execution_id,
        "node_id": node_id,
        "model_name": "gpt-4o-mini",
        "provider": "openai",
        "prompt_tokens": 10,
        "completion_tokens": 10,
        "cost": D(cost),
        "latency_ms": 1,
        "status": "success",
        "error_type": None,
        "attempt": 1,
        "is_fallback": False,
        "price_version": "v1",
    }
    values.update(kw)
    return UsageRecord(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def ledger(db_url: str) -> Ledger:
    ledger = Ledger(db_url)
    yield ledger
    ledger.close()


def test_hostile_ids_and_counts_are_stored_and_kept_apart(ledger: Ledger) -> None:
    for execution_id in (LONG_A, LONG_B, NUL_ID):
        rid = ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(10), execution_id=execution_id)
        ledger.settle(rid, row(execution_id, node_id="n\x00" + "x" * 400), day=TODAY)
    huge = row("tokens", prompt_tokens=10**12, completion_tokens=10**30)
    ledger.settle(ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(10)), huge, day=TODAY)
    assert ledger.outbox.pending() == 0
    assert ledger.day_status(TODAY) == (D("0.4"), D(0))
    # Each id finds its own row (lookups apply the same storable form), none collide.
    for execution_id in (LONG_A, LONG_B, NUL_ID):
        [found] = ledger.execution_usage(execution_id)
        assert len(found["execution_id"]) <= 255 and "\x00" not in found["execution_id"]
        assert len(found["node_id"]) <= 255 and found["node_id"].startswith("n\\x00xxx")
    assert ledger.execution_usage(LONG_A)[0]["id"] != ledger.execution_usage(LONG_B)[0]["id"]
    [big] = ledger.execution_usage("tokens")
    assert big["prompt_tokens"] == 10**12
    assert big["completion_tokens"] == 2**53 - 1
    assert big["usage_anomaly"] == f"completion_tokens clamped to 0..{2**53 - 1}"


def test_storable_text_is_deterministic_and_injective() -> None:
    from auterity_ai_step.store.records import storable_text

    assert storable_text("plain", 255) == "plain"
    assert storable_text(LONG_A, 255) == storable_text(LONG_A, 255)
    assert storable_text(LONG_A, 255) != storable_text(LONG_B, 255)
    # An escaped id never equals the literal text of its escape.
    assert storable_text("a\x00", 255) != storable_text("a\\x00", 255)
    assert storable_text("\ud800", 64) is not None  # a lone surrogate: no encoding error


def _refuse_node(url: str, node: str) -> None:
    """A trigger that makes the database refuse one row (a statement error, not an outage)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON model_usage "
                        f"WHEN NEW.node_id = '{node}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                        f"IF NEW.node_id = '{node}' THEN RAISE EXCEPTION 'refused'; END IF; "
                        "RETURN NEW; END $$ LANGUAGE plpgsql"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON model_usage "
                        "FOR EACH ROW EXECUTE FUNCTION refuse()"
                    )
                )
    finally:
        engine.dispose()


def _allow_all(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("DROP TRIGGER refuse" + ("" if "sqlite" in url else " ON model_usage"))
            )
    finally:
        engine.dispose()


def test_a_refused_settle_goes_to_the_outbox_with_its_reason(ledger: Ledger, db_url: str) -> None:
    ledger.day_status(TODAY)  # tables exist
    _refuse_node(db_url, "poison")
    rid = ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(1), execution_id="ex")
    heard: list[str] = []
    assert (
        ledger.settle(rid, row("ex", "poison", "0.3"), day=TODAY, on_deferred=heard.append) is False
    )
    assert len(heard) == 1 and "refused" in heard[0]
    [entry] = ledger.outbox.entries()
    assert entry["op"] == "settle" and "refused" in entry["reason"]
    # Nothing is lost and nothing overspent: the reservation still holds the worst case.
    assert ledger.day_status(TODAY) == (D(0), D("0.5"))
    # Other writes go on (the refused entry does not hold them back) ...
    ledger.record(row("ex", "fine", "0.1"), day=TODAY)
    assert ledger.outbox.pending() == 1
    assert ledger.day_status(TODAY) == (D("0.1"), D("0.5"))
    # ... and once the database takes it, the replay settles the reservation.
    _allow_all(db_url)
    assert ledger.flush_pending() == 1
    assert ledger.day_status(TODAY) == (D("0.4"), D(0))
    assert {r["node_id"] for r in ledger.execution_usage("ex")} == {"poison", "fine"}


def test_a_refused_settle_that_never_lands_is_charged_by_expiry(
    ledger: Ledger, db_url: str
) -> None:
    ledger.day_status(TODAY)
    _refuse_node(db_url, "poison")
    rid = ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(1))
    ledger.settle(rid, row("ex", "poison", "0.3"), day=TODAY)
    assert ledger.expire_reservations(older_than_s=-1) == 1
    # The call was billed: its worst case stays spent, it is never handed back to the budget.
    assert ledger.day_status(TODAY) == (D("0.5"), D(0))
    _allow_all(db_url)
    assert ledger.flush_pending() == 1  # the late settle corrects to the actual cost
    assert ledger.day_status(TODAY) == (D("0.3"), D(0))


def test_expiry_racing_settles_charges_each_attempt_once(ledger: Ledger) -> None:
    """Settles and expiries interleaved from threads: every attempt is booked exactly once,
    at its actual cost, whichever of the two commits first."""
    count = 60
    ids = [
        ledger.reserve(D("0.5"), day=TODAY, daily_budget=D(1000), execution_id=f"r{i}")
        for i in range(count)
    ]
    start = threading.Barrier(5)
    errors: list[BaseException] = []

    def settle(part: list[int]) -> None:
        try:
            start.wait()
            for rid in part:
                ledger.settle(rid, row(f"r{rid}", cost="0.2"), day=TODAY)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def expire() -> None:
        try:
            start.wait()
            for _ in range(20):
                ledger.expire_reservations(older_than_s=-1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=settle, args=(ids[i::3],)) for i in range(3)]
    threads += [threading.Thread(target=expire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert ledger.outbox.pending() == 0
    assert ledger.day_status(TODAY) == (D("0.2") * count, D(0))
    assert ledger.expire_reservations(older_than_s=-1) == 0
