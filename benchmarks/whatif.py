"""``whatif`` over a generated 100k-attempt ledger, as a ratio to reading the same rows.

    .venv/bin/python -m benchmarks.whatif [--attempts N] [--repeats R]

The ledger is a SQLite file of steps spread over seven days: four task types on twelve
workflow nodes, the bundled policy's models, one step in five with a failed first attempt,
one in ten recorded before revision 0004 (no routing). The candidate moves every task to
cheaper models and sets a daily budget that runs out on the busiest days, so the replay
walks the budget and refuses steps. Figure: wall time of :func:`what_if` (read + replay);
baseline: wall time of ``Ledger.recorded_attempts`` over the same window (read only).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from auterity_ai_step.contract.policy import Policy, load_policy, parse_policy
from auterity_ai_step.core.prices import PRICES
from auterity_ai_step.core.whatif import what_if
from auterity_ai_step.money.prices import cost_of
from auterity_ai_step.store.ledger import Ledger
from auterity_ai_step.store.records import UsageRecord
from auterity_ai_step.store.tables import model_usage
from benchmarks.common import ROOT, Stat, ratios, stat

TASKS = {
    "customer_inquiry": "gpt-4o-mini",
    "lead_qualification": "gpt-4o",
    "service_recommendation": "claude-sonnet-4-5",
    "generic_processing": "gpt-4.1-mini",
}


def candidate_policy() -> Policy:
    """The bundled policy with cheap task preferences and a daily budget that runs out."""
    import yaml

    data = yaml.safe_load((ROOT / "policies" / "model_policies.yml").read_text("utf-8"))
    data["routing_rules"]["task_preferences"] = {
        task: ["gpt-4o-mini", "claude-haiku-4-5"] for task in TASKS
    }
    data["cost_controls"]["daily_budget"] = 9
    return parse_policy(data, source="benchmark candidate")


def generate(url: str, attempts: int, seed: int = 7) -> datetime:
    """Fill ``url`` with about ``attempts`` attempt rows; returns the window's start."""
    policy = load_policy(ROOT / "policies" / "model_policies.yml")
    rng = random.Random(seed)
    start = datetime.combine(datetime.now(UTC).date() - timedelta(days=6), dtime(), tzinfo=UTC)
    span = timedelta(days=7).total_seconds() - 1
    ledger = Ledger(url)
    ledger.day_status(start.date())  # creates the tables
    rows: list[dict[str, Any]] = []
    made = 0
    step_number = 0
    while made < attempts:
        step_number += 1
        task = rng.choice(list(TASKS))
        model = TASKS[task]
        prompt, completion = rng.randint(50, 3000), rng.randint(20, 800)
        at = start + timedelta(seconds=rng.uniform(0, span))
        old = rng.random() < 0.1
        routing = {
            "model": None,
            "fallback_models": [],
            "policy_fallbacks": True,
            "max_tokens": rng.choice([None, 300, 800]),
            "cost_limit": rng.choice([None, "0.05"]),
            "legacy": False,
            "prompt_tokens": prompt,
        }
        shared = {
            "execution_id": f"exec-{step_number // 3}",
            "node_id": f"node-{step_number % 12}",
            "step_run": None if old else str(uuid.uuid4()),
            "task_type": None if old else task,
            "cost_preference": None if old else "balanced",
            "config_hash": None if old else f"{hash((task, routing['max_tokens'])) & 0xFFFF:016x}",
            "routing": None if old else routing,
        }
        number = 1
        if rng.random() < 0.2:
            failed = UsageRecord(
                model_name=model,
                provider=policy.models[model].provider,
                prompt_tokens=0,
                completion_tokens=0,
                cost=Decimal(0),
                latency_ms=50,
                status="error",
                error_type="rate_limited",
                attempt=1,
                is_fallback=False,
                price_version="bench",
                created_at=at,
                **shared,
            )
            rows.append(failed.to_row())
            number, at = 2, at + timedelta(milliseconds=80)
        price = PRICES.price(policy.models[model])
        assert price is not None
        answered = UsageRecord(
            model_name=model,
            provider=policy.models[model].provider,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost=cost_of(price, prompt, completion),
            latency_ms=400,
            status="success",
            error_type=None,
            attempt=number,
            is_fallback=False,
            price_version="bench",
            created_at=at,
            **shared,
        )
        rows.append(answered.to_row())
        made += number
        if len(rows) >= 10_000:
            _flush(ledger, rows)
    _flush(ledger, rows)
    ledger.close()
    return start


def _flush(ledger: Ledger, rows: list[dict[str, Any]]) -> None:
    if rows:
        with ledger.engine.begin() as conn:
            conn.execute(insert(model_usage), rows)
        rows.clear()


def measure(url: str, start: datetime, repeats: int) -> dict[str, Any]:
    """Wall seconds of reading the rows and of the whole replay, interleaved per repeat."""
    candidate = candidate_policy()
    ledger = Ledger(url)
    read: list[float] = []
    replay: list[float] = []
    report = None
    what_if(candidate, ledger, since=start)  # warm: tokenizers, caches, connection
    for _ in range(repeats):
        began = time.perf_counter()
        rows = ledger.recorded_attempts(since=start)
        read.append(time.perf_counter() - began)
        began = time.perf_counter()
        report = what_if(candidate, ledger, since=start)
        replay.append(time.perf_counter() - began)
    ledger.close()
    assert report is not None
    data = report.to_data()
    return {
        "attempts": len(rows),
        "steps": data["steps"],
        "old_steps": data["old_steps"],
        "refused_steps": data["refused_steps"],
        "cost_then": data["total"]["cost_then"],
        "cost_now": data["total"]["cost_now"],
        "read_s": read,
        "replay_s": replay,
    }


def run(attempts: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'whatif.db'}"
        start = generate(url, attempts)
        return measure(url, start, repeats)


def summary(result: dict[str, Any]) -> tuple[Stat, Stat, Stat]:
    """(replay seconds, read seconds, replay / read) over the repeats."""
    return (
        stat(result["replay_s"]),
        stat(result["read_s"]),
        ratios(result["replay_s"], result["read_s"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args(argv)
    result = run(ns.attempts, ns.repeats)
    replay, read, ratio = summary(result)
    print(
        f"whatif over {result['attempts']} attempts ({result['steps']} steps, "
        f"{result['old_steps']} before revision 0004, {result['refused_steps']} refused now): "
        f"{replay.fmt(' s')}; reading the same rows {read.fmt(' s')}; ratio {ratio.fmt('x')}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
