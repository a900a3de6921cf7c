"""Issue 13, section 5: another process holding the SQLite write lock stalls only the step
that waits for it, never the event loop.

Proved by structure, not by timing: the lock holder lets go only when a ticker coroutine
on the executor's event loop asks it to, after ticking many times while the step is still
waiting. If any database call ran on the loop, the ticker could not tick, the holder would
let go by its own 10 s timeout instead, and the test would say so.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sim_policy import sim_policy_file

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.core.executor import default_engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

HOLDER = r"""
import select, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE budget_days SET alerted = alerted")
print("locked", flush=True)
ready, _, _ = select.select([sys.stdin], [], [], 10.0)
how = "on request" if ready and sys.stdin.readline().strip() == "release" else "by timeout"
conn.execute("COMMIT")
print("released " + how, flush=True)
"""
STEP = {"config_version": 2, "prompt": "Hi", "model": "gpt-4o-mini", "max_tokens": 50}
TICKS = 25


async def test_a_locked_sqlite_file_delays_only_the_waiting_step(tmp_path: Path) -> None:
    database = tmp_path / "ledger.db"
    async with Simulator(Scenario(default=ModelBehaviour(completion_tokens=10))) as sim:
        ledger = Ledger(f"sqlite:///{database}")
        policy = sim_policy_file(tmp_path, sim.base_url, daily_budget=1)
        store = PolicyStore(policy, overrides=ledger.model_configurations, check_interval_s=0)
        executor = AIStepExecutor(engine=default_engine(store, ledger))
        node = WorkflowNode(id="n", type="ai", data=STEP)
        warm = await executor.execute_step(node, {}, execution_id="warm-up")
        assert warm.success, warm.error_message

        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(database)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdin is not None
            assert holder.stdout.readline().strip() == "locked"
            step = asyncio.ensure_future(executor.execute_step(node, {}, execution_id="locked"))
            ticks = 0
            asked_while_waiting = False
            while not step.done():
                await asyncio.sleep(0.01)
                ticks += 1
                if ticks == TICKS and not step.done():
                    asked_while_waiting = True
                    holder.stdin.write("release\n")
                    holder.stdin.flush()
            result = await step
            said, _ = holder.communicate(timeout=30)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
        assert said.strip() == "released on request", said
        assert asked_while_waiting and ticks >= TICKS
        assert result.success, result.error_message
        assert len(ledger.execution_usage("locked")) == 1
        ledger.close()
