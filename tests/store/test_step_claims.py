"""Step claims on the driver's fast path store what the SQLAlchemy path stores.

A new claim and keeping an answer run as fixed SQL on the DBAPI connection
(``store/step_claims.py``); every other case (a taken key, a stale claim, an answer plain
JSON cannot hold) goes through ``store/replays.py``. Both must agree, on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, select

from auterity_ai_step.errors import StoreError
from auterity_ai_step.store.ledger import Ledger
from auterity_ai_step.store.tables import step_results


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    ledger = Ledger(db_url)
    yield ledger
    ledger.close()


def _row(ledger: Ledger, key: str) -> Row[Any]:
    with ledger.engine.connect() as conn:
        return conn.execute(select(step_results).where(step_results.c.key == key)).one()


def test_a_claim_and_its_answer_read_back_as_sqlalchemy_stores_them(ledger: Ledger) -> None:
    before = datetime.now(UTC)
    claim = ledger.claim_step(
        "k1", owner="w1", execution_id="exec-1", node_id="n" * 300, stale_after_s=60
    )
    assert claim.state == "claimed" and claim.claimed_at is not None
    row = _row(ledger, "k1")
    assert (row.status, row.owner, row.execution_id, row.replays) == ("running", "w1", "exec-1", 0)
    assert len(row.node_id) <= 255 and row.node_id.startswith("n" * 200)  # cut to the column
    assert before - timedelta(seconds=1) <= row.claimed_at <= datetime.now(UTC)

    answer = {"ai_response": "Ja, Dana – 2024 Civic", "ai_cost": "0.0001", "n": [1, None, True]}
    assert ledger.finish_step("k1", owner="w1", output=answer)
    row = _row(ledger, "k1")
    assert row.status == "succeeded" and row.output == answer and row.finished_at is not None
    again = ledger.claim_step(
        "k1", owner="w2", execution_id="exec-1", node_id="n", stale_after_s=60
    )
    assert (again.state, again.output) == ("succeeded", answer)


def test_only_the_owner_of_a_running_claim_keeps_an_answer(ledger: Ledger) -> None:
    ledger.claim_step("k2", owner="w1", execution_id=None, node_id=None, stale_after_s=60)
    assert not ledger.finish_step("k2", owner="someone-else", output={"a": 1})
    assert ledger.finish_step("k2", owner="w1", output={"a": 1})
    assert not ledger.finish_step("k2", owner="w1", output={"a": 2})  # kept once
    assert _row(ledger, "k2").output == {"a": 1}
    busy = ledger.claim_step("k3", owner="w1", execution_id=None, node_id=None, stale_after_s=60)
    assert busy.state == "claimed"
    taken = ledger.claim_step("k3", owner="w2", execution_id=None, node_id=None, stale_after_s=60)
    assert taken.state == "busy"


def test_an_answer_json_cannot_hold_fails_as_the_sqlalchemy_path_does(ledger: Ledger) -> None:
    ledger.claim_step("k4", owner="w1", execution_id=None, node_id=None, stale_after_s=60)
    # SQLAlchemy's JSON type refuses it: wrapped on SQLite, a bare TypeError on psycopg.
    with pytest.raises((StoreError, TypeError), match="not JSON serializable"):
        ledger.finish_step("k4", owner="w1", output={"cost": Decimal("0.1")})
    assert _row(ledger, "k4").status == "running"  # the claim is still there to give up
    ledger.abandon_step("k4", owner="w1")


def test_a_database_failure_is_a_store_error(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.claim_step("k0", owner="w1", execution_id=None, node_id=None, stale_after_s=60)
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE step_results")
    with pytest.raises(StoreError, match="ledger database failed") as caught:
        ledger.claim_step("k5", owner="w1", execution_id=None, node_id=None, stale_after_s=60)
    assert "step_results" in str(caught.value)
    with pytest.raises(StoreError, match="ledger database failed"):
        ledger.finish_step("k5", owner="w1", output={"a": 1})
    ledger.close()
