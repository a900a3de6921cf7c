"""A step's process never loads SQLAlchemy's ORM: the ledger is Core ``Table``s only.

``sqlalchemy.orm`` adds about 5.6 MiB to every worker (benchmarks/RESULTS.md, Memory) and
nothing the ledger does needs it. A fresh process runs what a host's worker runs (steps
through ``AIStepExecutor`` against the loopback simulator, one of them answered from the
ledger), then the ledger's own reserve, settle, reports, configurations and expiry, and
reports which ``sqlalchemy.orm`` modules it loaded: none, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_policy import sim_policy_file

from auterity_ai_step.simulator.server import Scenario, Simulator

PROBE = """
import asyncio, json, sys
from datetime import UTC, datetime
from decimal import Decimal

from auterity_ai_step import AIStepExecutor, PolicyStore, WorkflowNode
from auterity_ai_step.store import Ledger, UsageRecord

url, policy = sys.argv[1], sys.argv[2]
ledger = Ledger(url)
executor = AIStepExecutor(policy_store=PolicyStore(policy), ledger=ledger)
node = WorkflowNode(id="n1", type="ai", data={
    "config_version": 2, "prompt": "Hello {{ name }}", "model": "gpt-4o-mini", "max_tokens": 20,
})

async def steps():
    first = await executor.execute_step(node, {"name": "Dana"}, execution_id="e1")
    again = await executor.execute_step(node, {"name": "Dana"}, execution_id="e1")
    return first, again

first, again = asyncio.run(steps())
today = datetime.now(UTC).date()
held = ledger.reserve(Decimal("0.01"), day=today, daily_budget=Decimal(5), execution_id="e2")
record = UsageRecord(
    "e2", "n2", "gpt-4o-mini", "openai", 3, 4, Decimal("0.002"), 5, "success", None, 1, False, "v"
)
ledger.settle(held, record, alert_at=Decimal(4))
ledger.put_model_configurations({"extra": {"provider": "openai", "model": "gpt-4o-mini"}})
print(json.dumps({
    "succeeded": [first.success, again.success],
    "replayed": bool(again.output_data.get("ai_replayed")),
    "calls": ledger.totals(1)["calls"],
    "executions": sorted(row["key"] for row in ledger.top_costs(1, "execution")),
    "configs": sorted(ledger.model_configurations()[1]),
    "spent": str(ledger.day_status(today)[0]),
    "expired": ledger.expire_reservations(0),
    "orm": sorted(name for name in sys.modules if name.startswith("sqlalchemy.orm")),
}))
ledger.close()
"""


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(Scenario())
    _, stop = simulator.run_in_thread()
    yield simulator
    stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


def test_steps_and_the_ledger_run_without_the_orm(
    tmp_path: Path, sim: Simulator, db_url: str
) -> None:
    policy = sim_policy_file(tmp_path, sim.base_url)
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-secret"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, db_url, str(policy)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The probe did the work it claims: two steps, one answered from the ledger, and the
    # ledger's own writes and reads.
    assert seen["succeeded"] == [True, True]
    assert seen["replayed"] is True
    assert seen["calls"] == 2  # the first step's call and the direct settle, not the replay
    assert seen["executions"] == ["e1", "e2"]
    assert seen["configs"] == ["extra"]
    assert seen["spent"] != "0E-10"
    assert seen["expired"] == 0
    assert seen["orm"] == []
