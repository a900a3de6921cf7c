"""Child process: event-loop lag, the worst delay of a 1 ms ticker while steps run.

A fresh process, so the run includes the first tokenizer use; LiteLLM itself is imported
first (``gateway.preload``, as a host does at start-up) and is not in the figure. Steps run
back to back over a hot-reloaded policy file that is rewritten halfway through, so one
reload is in the run. Then the same ticker runs over as many bare ``litellm.acompletion``
calls: the baseline. Reads its job as JSON on stdin, prints the result as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import INPUT, STEP, policy_document, write_policy
from benchmarks.overhead import make_bare

TICK_S = 0.001


class Ticker:
    """Sleeps 1 ms over and over; records the worst overshoot, by the phase it fell in."""

    def __init__(self) -> None:
        self.phase = "steady"
        self.worst: dict[str, float] = {}
        self.running = True

    async def run(self) -> None:
        while self.running:
            before = time.perf_counter()
            await asyncio.sleep(TICK_S)
            lag = time.perf_counter() - before - TICK_S
            if lag > self.worst.get(self.phase, 0.0):
                self.worst[self.phase] = lag


async def _ticking(
    ticker: Ticker, n: int, call: Callable[[int], Awaitable[None]], phases: dict[int, str]
) -> None:
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.01)
    for i in range(n):
        ticker.phase = phases.get(i, "steady")
        await call(i)
    ticker.running = False
    await task


async def job(args: dict[str, Any]) -> dict[str, Any]:
    import litellm

    from auterity_ai_step import AIStepExecutor, WorkflowNode
    from auterity_ai_step.core.engine import Engine
    from auterity_ai_step.core.policy_source import PolicyStore
    from auterity_ai_step.routing import gateway
    from auterity_ai_step.store.ledger import Ledger

    n = args["n"]
    base = args["base_url"]
    await gateway.preload()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yml"
        doc = policy_document(base)
        write_policy(path, doc)
        store = PolicyStore(path, check_interval_s=0.05)
        ledger = Ledger(f"sqlite:///{tmp}/ledger.db")
        executor = AIStepExecutor(engine=Engine(store, ledger))
        node = WorkflowNode(id="lag", type="ai", data=STEP)
        half = n // 2
        changed = {**doc, "retry": {**doc["retry"], "step_time_budget_s": 59.0}}

        async def step(i: int) -> None:
            if i == half:
                write_policy(path, changed)
                await asyncio.sleep(0.06)  # past the store's check interval: next step reloads
            result = await executor.execute_step(node, {**INPUT, "customer": f"Dana {i}"})
            assert result.success, result.error_message

        # The reload lands in one of the few steps after the write.
        phases = {0: "first step (first tokenizer use)"}
        phases.update(dict.fromkeys(range(half, half + 5), "policy reload"))
        steps = Ticker()
        await _ticking(steps, n, step, phases)
        reloaded = store.current().retry.step_time_budget_s == 59.0
        ledger.close()
        bare = Ticker()
        await _ticking(bare, n, make_bare(litellm, base, {}), {})
    return {
        "steps_ms": {k: v * 1000 for k, v in steps.worst.items()},
        "bare_ms": {k: v * 1000 for k, v in bare.worst.items()},
        "reloaded": reloaded,
    }


def main() -> None:
    args = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(job(args))))


if __name__ == "__main__":
    main()
