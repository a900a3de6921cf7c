"""The core's runtime and catalog, below HTTP: what the API and the services show and change.

The HTTP tests (tests/api/) prove the same claims through the routes; these prove them
where they now live, on a real SQLite ledger, with no provider call.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from auterity_ai_step.contract.policy import CostControls
from auterity_ai_step.core.catalog import BudgetDay, Catalog, ConfigRefused, recommend
from auterity_ai_step.core.runtime import PolicyStore, Runtime
from tests.sim_policy import sim_policy_file

BASE = "http://127.0.0.1:9"  # never called: no test here makes a request


@pytest.fixture
def runtime(tmp_path: Path, sqlite_url: str) -> Runtime:
    opened = Runtime.open(policy_path=sim_policy_file(tmp_path, BASE), db_url=sqlite_url)
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_configuration_written_through_the_catalog_is_live_for_the_runtimes_policy(
    runtime: Runtime,
) -> None:
    Catalog(runtime).replace_configurations({"gpt-4o-mini": {"input_cost_per_1k": "0.5"}})
    live = runtime.policy_store.current().models["gpt-4o-mini"]
    assert live.input_cost_per_1k == Decimal("0.5")
    stored = runtime.ledger.model_configurations()[1]
    assert stored["gpt-4o-mini"]["provider"] == "openai"  # the row says its family
    assert Catalog(runtime).config_source("gpt-4o-mini", stored) == "file+override"


def test_an_invalid_configuration_lists_each_problem_and_writes_nothing(
    runtime: Runtime,
) -> None:
    with pytest.raises(ConfigRefused) as refused:
        Catalog(runtime).replace_configurations({"gpt-4o-mini": 3, "broken": []})
    assert not refused.value.conflict
    assert refused.value.errors == [
        "gpt-4o-mini: must be an object of model settings",
        "broken: must be an object of model settings",
    ]
    assert runtime.ledger.model_configurations()[1] == {}


def test_a_store_that_never_reads_stored_configurations_is_a_conflict_and_writes_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    blind = PolicyStore(sim_policy_file(tmp_path, BASE))  # no overrides=...
    runtime = Runtime.open(policy_store=blind, db_url=sqlite_url)
    try:
        with pytest.raises(ConfigRefused) as refused:
            Catalog(runtime).replace_configurations({"gpt-4o-mini": {"quality": 9}})
        assert refused.value.conflict
        assert "does not read the stored model configurations" in refused.value.errors[0]
        assert runtime.ledger.model_configurations()[1] == {}
    finally:
        runtime.close()


@pytest.mark.parametrize(
    ("budget", "spent", "reserved", "state", "left"),
    [
        (None, "5", "0", "no_budget", None),
        ("10", "0", "0", "ok", "10"),
        ("10", "6", "2", "alert", "2"),  # 8 of 10 is the 80% threshold
        ("10", "9", "3", "exhausted", "0"),  # never a negative remainder
    ],
)
def test_the_budget_day_states(
    budget: str | None, spent: str, reserved: str, state: str, left: str | None
) -> None:
    controls = CostControls(
        daily_budget=None if budget is None else Decimal(budget), alert_threshold=Decimal(80)
    )
    day = BudgetDay(controls, date(2026, 12, 6), Decimal(spent), Decimal(reserved))
    assert day.state == state
    assert day.left == (None if left is None else Decimal(left))


def test_rankings_show_prices_and_unknown_health_without_a_check(runtime: Runtime) -> None:
    catalog = Catalog(runtime)
    ranked = catalog.ranked(None, 0, "cheapest")
    assert [view.rank for view in ranked] == list(range(1, len(ranked) + 1))
    assert ranked[-1].ranked.model == "claude-haiku-4-5"  # the dearest blended price
    assert ranked[0].blended_per_1k == (Decimal("0.00015") + Decimal("0.0006")) / 2
    assert {view.status for view in ranked} == {"unknown"}
    best, _ = catalog.pick(ranked, None, 0, "cheapest")
    assert best == recommend(runtime.policy_store.current(), None, 0, "cheapest").model
