"""Step, per-request and daily limits through BudgetGuard on a real (SQLite) ledger."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from auterity_ai_step.contract.policy import CostControls, load_policy
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.errors import LimitExceeded
from auterity_ai_step.money.limits import BudgetAlert, BudgetGuard, StepAllowance, cap_max_tokens
from auterity_ai_step.money.prices import Price
from auterity_ai_step.store import Ledger, UsageRecord

D = Decimal


def usage(cost: str, status: str = "success", execution_id: str = "ex") -> UsageRecord:
    return UsageRecord(
        execution_id,
        "node",
        "m",
        "p",
        10,
        5,
        D(cost),
        3,
        status,
        None if status == "success" else "timeout",
        1,
        False,
        "v1",
    )


@pytest.fixture
def ledger(sqlite_url: str) -> Ledger:
    return Ledger(sqlite_url)


def guard(ledger: Ledger, **controls: object) -> BudgetGuard:
    return BudgetGuard(ledger, CostControls(**controls))  # type: ignore[arg-type]


def test_step_allowance_accounts_all_attempts() -> None:
    step = StepAllowance(D("1.00"))
    step.reserve(D("0.60"))
    assert step.remaining() == D("0.40")
    assert step.fits(D("0.40")) and not step.fits(D("0.41"))
    with pytest.raises(LimitExceeded) as info:
        step.reserve(D("0.50"))
    assert (info.value.limit, info.value.remaining, info.value.needed) == (
        "cost_limit",
        D("0.40"),
        D("0.50"),
    )
    assert "0.4 left" in str(info.value)
    step.settle(D("0.60"), D("0.25"))  # actual cheaper than worst case frees the rest
    assert step.remaining() == D("0.75")
    step.reserve(D("0.5"))
    step.release(D("0.5"))
    assert (step.spent, step.reserved, step.remaining()) == (D("0.25"), D(0), D("0.75"))
    unlimited = StepAllowance(None)
    assert unlimited.remaining() is None and unlimited.fits(D(10**6))


def test_per_request_limit_applies_to_each_attempts_worst_case(ledger: Ledger) -> None:
    g = guard(ledger, per_request_limit=D("0.10"))
    with pytest.raises(LimitExceeded) as info:
        g.reserve_attempt(D("0.11"))
    assert info.value.limit == "per_request_limit" and info.value.needed == D("0.11")
    r = g.reserve_attempt(D("0.10"))
    g.settle(r, usage("0.10"))
    g.settle(g.reserve_attempt(D("0.10")), usage("0.10"))  # each attempt on its own
    assert ledger.day_status(r.day) == (D("0.2"), D(0))


def test_step_cost_limit_then_daily_budget(ledger: Ledger) -> None:
    g = guard(ledger, daily_budget=D("1.00"))
    step = StepAllowance(D("0.50"))
    first = g.reserve_attempt(D("0.30"), step_allowance=step)
    with pytest.raises(LimitExceeded) as info:
        g.reserve_attempt(D("0.30"), step_allowance=step)
    assert info.value.limit == "cost_limit" and info.value.remaining == D("0.20")
    g.release(first, usage("0", status="error"))
    assert step.remaining() == D("0.50")
    assert ledger.day_status(first.day) == (D(0), D(0))

    other = StepAllowance(None)
    held = g.reserve_attempt(D("0.90"), step_allowance=other)
    with pytest.raises(LimitExceeded) as info:
        g.reserve_attempt(D("0.20"), step_allowance=step)
    assert info.value.limit == "daily_budget"
    assert (info.value.remaining, info.value.needed) == (D("0.1"), D("0.2"))
    assert step.remaining() == D("0.50"), "a refused day must give the step back its hold"
    g.settle(held, usage("0.05"))
    assert ledger.day_status(held.day) == (D("0.05"), D(0))
    g.settle(g.reserve_attempt(D("0.20"), step_allowance=step), usage("0.2"))


def test_unknown_price_refused_under_any_limit(ledger: Ledger) -> None:
    for controls, step, limit in [
        ({}, StepAllowance(D(1)), "cost_limit"),
        ({"per_request_limit": D(1)}, None, "per_request_limit"),
        ({"daily_budget": D(5)}, None, "daily_budget"),
    ]:
        with pytest.raises(LimitExceeded, match="no known price") as info:
            guard(ledger, **controls).reserve_attempt(None, step_allowance=step, model="mystery")
        assert info.value.limit == limit and "mystery" in str(info.value)
    free = guard(ledger).reserve_attempt(None, step_allowance=StepAllowance(None))
    assert free.amount == 0 and free.ledger_id is None


def test_alert_once_per_day_with_log_and_hook(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    g = guard(ledger, daily_budget=D("10"), alert_threshold=D("50"))
    seen: list[BudgetAlert] = []
    unsubscribe = g.on_alert(seen.append)
    g.on_alert(lambda alert: 1 / 0)  # a failing hook must not break settling
    caplog.set_level(logging.WARNING, logger="auterity_ai_step.budget")
    g.settle(g.reserve_attempt(D("4.99")), usage("4.99"))
    assert seen == []
    g.settle(g.reserve_attempt(D("0.01")), usage("0.01"))  # exactly 50 %: crosses
    assert len(seen) == 1 and seen[0].spent == D("5.00") and seen[0].daily_budget == D(10)
    second_process = guard(Ledger(ledger.url), daily_budget=D("10"), alert_threshold=D("50"))
    more: list[BudgetAlert] = []
    second_process.on_alert(more.append)
    second_process.settle(second_process.reserve_attempt(D("1")), usage("1"))
    g.settle(g.reserve_attempt(D("1")), usage("1"))
    assert len(seen) == 1 and more == [], "one alert per day across guards and processes"
    alerts = [r for r in caplog.records if "daily budget alert" in r.getMessage()]
    assert len(alerts) == 1
    assert any("budget alert hook" in r.getMessage() for r in caplog.records)
    unsubscribe()
    assert g._hooks and seen[0] not in g._hooks


def test_budget_day_follows_policy_timezone(ledger: Ledger) -> None:
    g = guard(ledger, daily_budget=D(1), timezone="Pacific/Kiritimati")  # UTC+14
    expected = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert g.today() == expected
    r = g.reserve_attempt(D("0.5"))
    assert r.day == expected
    assert ledger.day_status(expected) == (D(0), D("0.5"))
    assert guard(ledger).today() == datetime.now(UTC).date()


def test_controls_from_policy_store_policy_or_callable(ledger: Ledger, tmp_path) -> None:
    from pathlib import Path

    policy = load_policy(
        Path(__file__).resolve().parents[2] / "policies/examples/original_task.yml"
    )
    assert BudgetGuard(ledger, policy).controls().per_request_limit == D("1.0")
    assert BudgetGuard(ledger, PolicyStore.fixed(policy)).controls().daily_budget == D("100")
    controls = CostControls(daily_budget=D(3))
    assert BudgetGuard(ledger, lambda: controls).controls() is controls


def test_headroom_is_the_tightest_in_process_limit(ledger: Ledger) -> None:
    assert guard(ledger).headroom() is None
    g = guard(ledger, per_request_limit=D("0.5"))
    assert g.headroom() == D("0.5")
    assert g.headroom(StepAllowance(D("0.2"))) == D("0.2")


def test_cap_max_tokens() -> None:
    price = Price(D("0.001"), D("0.002"), "policy")
    # 1.0 left - 1000 prompt tokens (0.001) = 0.999 -> 499,500 output tokens at 0.002/1k
    assert cap_max_tokens(price, 1000, D("1.0")) == 499_500
    assert cap_max_tokens(price, 1000, D("1.0"), ceiling=4096) == 4096
    assert cap_max_tokens(price, 1000, None, ceiling=4096) == 4096
    assert cap_max_tokens(price, 1000, None) is None
    with pytest.raises(LimitExceeded) as info:
        cap_max_tokens(price, 1000, D("0.00102"), minimum=16, limit="daily_budget")
    assert info.value.limit == "daily_budget" and info.value.needed == D("0.001032")
    free_out = Price(D("0.001"), D(0), "policy")
    assert cap_max_tokens(free_out, 10, D(1), ceiling=99) == 99
    with pytest.raises(LimitExceeded):
        cap_max_tokens(free_out, 10_000, D("0.001"))
    exact = cap_max_tokens(price, 0, D("0.032"))
    assert exact == 16_000


def test_settle_more_than_reserved_is_recorded_and_logged(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    g = guard(ledger)
    r = g.reserve_attempt(D("0.01"))
    g.settle(r, usage("0.02"))
    assert "exceeded its reserved worst case" in caplog.text
    assert ledger.day_status(r.day) == (D("0.02"), D(0))
    assert isinstance(r.day, date)
