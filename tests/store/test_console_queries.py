"""The console's ledger queries on both backends: usage per UTC day and model or provider,
per-model latency percentiles, the costliest executions and nodes, and month-to-date
budget spend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from auterity_ai_step.store.ledger import Ledger, UsageRecord

NOW = datetime.now(UTC)
TODAY = NOW.date()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    store = Ledger(str(request.getfixturevalue(name)))
    yield store
    store.close()


def _usage(model: str, cost: str, days_ago: int = 0, **extra: Any) -> UsageRecord:
    # 23:30 UTC: a timezone-naive day cut on a non-UTC server would move it to the next day
    at = datetime.combine(TODAY - timedelta(days=days_ago), time(23, 30), tzinfo=UTC)
    values: dict[str, Any] = {
        "execution_id": "exec-a",
        "node_id": "node-a",
        "model_name": model,
        "provider": "anthropic" if model.startswith("claude") else "openai",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost": D(cost),
        "latency_ms": 100,
        "status": "success",
        "error_type": None,
        "attempt": 1,
        "is_fallback": False,
        "price_version": "v1",
        "created_at": min(at, NOW),
    }
    values.update(extra)
    return UsageRecord(**values)


def test_usage_series_by_day_and_model_or_provider(ledger: Ledger) -> None:
    ledger.record(_usage("gpt-4o", "0.5", days_ago=2))
    ledger.record(_usage("gpt-4o", "0.25", days_ago=0))
    ledger.record(_usage("claude-haiku", "0.125", days_ago=0, status="error"))
    ledger.record(_usage("gpt-4o", "9", days_ago=40))  # outside the window
    two_days_ago = (TODAY - timedelta(days=2)).isoformat()
    by_model = [
        (r["day"], r["group"], r["calls"], r["errors"], r["cost"])
        for r in ledger.usage_series(7, "model")
    ]
    assert by_model == [
        (two_days_ago, "gpt-4o", 1, 0, D("0.5")),
        (TODAY.isoformat(), "claude-haiku", 1, 1, D("0.125")),
        (TODAY.isoformat(), "gpt-4o", 1, 0, D("0.25")),
    ]
    by_provider = [(r["day"], r["group"], r["cost"]) for r in ledger.usage_series(7, "provider")]
    assert by_provider == [
        (two_days_ago, "openai", D("0.5")),
        (TODAY.isoformat(), "anthropic", D("0.125")),
        (TODAY.isoformat(), "openai", D("0.25")),
    ]
    assert ledger.usage_series(1, "model")[0]["day"] == TODAY.isoformat()


def test_performance_percentiles_and_top_costs(ledger: Ledger) -> None:
    for i, latency in enumerate(range(10, 210, 10)):  # 20 attempts, 10..200 ms
        ledger.record(
            _usage("gpt-4o", "0.01", latency_ms=latency, is_fallback=i % 4 == 0, node_id="n1")
        )
    ledger.record(_usage("claude-haiku", "1", execution_id="exec-b", node_id=None))
    (claude, gpt) = sorted(ledger.model_performance(7), key=lambda m: m["model"])
    assert (gpt["calls"], gpt["p50_latency_ms"], gpt["p95_latency_ms"]) == (20, 100, 190)
    assert gpt["fallbacks"] == 5 and claude["p95_latency_ms"] == 100
    assert ledger.top_costs(7, "execution", 5) == [
        {"key": "exec-b", "attempts": 1, "cost": D("1")},
        {"key": "exec-a", "attempts": 20, "cost": D("0.2")},
    ]
    assert ledger.top_costs(7, "node", 5) == [{"key": "n1", "attempts": 20, "cost": D("0.2")}]
    assert ledger.top_costs(7, "execution", 1)[0]["key"] == "exec-b"


def test_budget_spent_between_counts_only_those_days(ledger: Ledger) -> None:
    yesterday = TODAY - timedelta(days=1)
    ledger.record(_usage("gpt-4o", "0.5"), day=TODAY)
    ledger.record(_usage("gpt-4o", "0.25"), day=yesterday)
    ledger.record(_usage("gpt-4o", "4"), day=TODAY - timedelta(days=9))
    assert ledger.budget_spent_between(yesterday, TODAY) == D("0.75")
    assert ledger.budget_spent_between(TODAY, TODAY) == D("0.5")
    assert ledger.budget_spent_between(TODAY, TODAY, scope="tenant-1") == D(0)
