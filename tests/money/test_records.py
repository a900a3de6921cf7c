"""One record per attempt: the step output's entry and the ledger's row from one object."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from auterity_ai_step.money.records import UsageRecord
from auterity_ai_step.store import UsageRecord as StoreUsageRecord
from auterity_ai_step.store.records import UsageRecord as OldPathUsageRecord


def record(**changes: object) -> UsageRecord:
    base = UsageRecord(
        execution_id="exec-1",
        node_id="node-1",
        model_name="gpt-4o-mini",
        provider="openai",
        prompt_tokens=120,
        completion_tokens=30,
        cost=Decimal("0.0000360000"),
        latency_ms=42,
        status="success",
        error_type=None,
        attempt=1,
        is_fallback=False,
        price_version="abc123",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_store_paths_name_the_same_type() -> None:
    assert StoreUsageRecord is UsageRecord is OldPathUsageRecord


def test_output_and_row_agree_on_every_shared_figure() -> None:
    attempt = record()
    out, row = attempt.to_output(), attempt.to_row()
    assert out == {
        "attempt": 1,
        "model": "gpt-4o-mini",
        "provider": "openai",
        "outcome": "success",
        "error_type": None,
        "error": None,
        "latency_ms": 42,
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "cost": "0.000036",
        "is_fallback": False,
    }
    assert row["attempt"] == out["attempt"] and row["model_name"] == out["model"]
    assert row["total_tokens"] == out["total_tokens"] and row["cost"] == Decimal(out["cost"])


def test_the_error_text_and_outbox_note_are_reported_never_stored() -> None:
    failed = record(
        status="error",
        error_type="invalid_output",
        error="gpt-4o-mini: answer is not valid JSON",
        ledger_pending="usage row kept in the ledger outbox (database is locked)",
        usage_anomaly="over_max_tokens: 31 completion tokens, max_tokens was 30",
    )
    out = failed.to_output()
    assert out["outcome"] == "error" and out["error"].startswith("gpt-4o-mini: answer")
    assert out["ledger_pending"].startswith("usage row kept")
    assert out["usage_anomaly"].startswith("over_max_tokens")
    row = failed.to_row()
    assert "error" not in row and "ledger_pending" not in row
    assert row["usage_anomaly"] == out["usage_anomaly"]
    # The outbox keeps what the table stores, and reads it back.
    again = UsageRecord.from_data(failed.to_data())
    assert again.to_row() == row and again.error is None


def test_an_amended_copy_keeps_its_identity_and_storable_values() -> None:
    long_name = record(model_name="m" * 150)
    amended = replace(long_name, status="error", error_type="invalid_output")
    assert amended.id == long_name.id and amended.created_at == long_name.created_at
    assert amended.model_name == long_name.model_name and len(amended.model_name) == 100
