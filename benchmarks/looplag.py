"""Child process: event-loop lag, the worst delay of a 1 ms ticker, and whose code caused it.

A fresh process, so the run includes the first step; LiteLLM itself is imported first
(``gateway.preload``, in a worker thread, as a host does at start-up) and is not in the
figure. Steps run back to back over a hot-reloaded policy file that is rewritten halfway
through (by a worker thread: the operator's deploy is not this loop's work), so one reload
is in the run. With ``bare``: as many bare ``litellm.acompletion`` calls in their own fresh
process instead, the baseline, first call included.

A watchdog thread samples the loop thread's stack while a tick is late by more than 5 ms
(:class:`benchmarks.loopblocks.Watchdog`), so each late tick is put down to its owner: our
code (and what it calls), LiteLLM (and the HTTP stack under it), or the loop itself
(waiting for a core or the GIL). Reads its job as JSON on stdin, prints the result as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import INPUT, STEP, policy_document, write_policy
from benchmarks.loopblocks import Watchdog
from benchmarks.overhead import make_bare

THRESHOLD_S = 0.005


async def job(args: dict[str, Any]) -> dict[str, Any]:
    from auterity_ai_step.routing import gateway

    n = args["n"]
    base = args["base_url"]
    await gateway.preload()
    sys.setswitchinterval(0.001)  # the watchdog thread gets the GIL within a millisecond
    dog = Watchdog(THRESHOLD_S)
    with tempfile.TemporaryDirectory() as tmp:
        if args.get("bare"):
            import litellm

            call = make_bare(litellm, base, {})
            await _watched(dog, n, call, "first call")
        else:
            reloaded = await _steps(dog, n, base, Path(tmp))
    blocks = dog.blocks()
    owners: dict[str, float] = {}
    for block in blocks:
        owners[block["owner"]] = max(owners.get(block["owner"], 0.0), block["ms"])
    ours = sorted((b for b in blocks if b["owner"] == "ours"), key=lambda b: -b["ms"])
    return {
        "phases_ms": {k: v * 1000 for k, v in dog.worst.items()},
        "owners_ms": owners,
        "counts": {name: sum(b["owner"] == name for b in blocks) for name in owners},
        "ours": ours[:3],
        "reloaded": None if args.get("bare") else reloaded,
    }


async def _steps(dog: Watchdog, n: int, base: str, tmp: Path) -> bool:
    from auterity_ai_step import AIStepExecutor, WorkflowNode
    from auterity_ai_step.core.engine import Engine
    from auterity_ai_step.core.policy_source import PolicyStore
    from auterity_ai_step.store.ledger import Ledger

    path = tmp / "policy.yml"
    doc = policy_document(base)
    write_policy(path, doc)
    changed = {**doc, "retry": {**doc["retry"], "step_time_budget_s": 59.0}}
    half = n // 2
    dog.phase = "executor start"
    dog.start()
    ticker = asyncio.create_task(dog.tick())
    await asyncio.sleep(0.01)
    store = PolicyStore(path, check_interval_s=0.05)
    ledger = Ledger(f"sqlite:///{tmp}/ledger.db")
    executor = AIStepExecutor(engine=Engine(store, ledger))
    node = WorkflowNode(id="lag", type="ai", data=STEP)
    for i in range(n):
        dog.phase = "first step" if i == 0 else "steady"
        if i == half:
            await asyncio.to_thread(write_policy, path, changed)
            await asyncio.sleep(0.06)  # past the store's check interval: next step reloads
        if half <= i < half + 5:  # the reload lands in one of the few steps after the write
            dog.phase = "policy reload"
        result = await executor.execute_step(node, {**INPUT, "customer": f"Dana {i}"})
        assert result.success, result.error_message
    dog.phase = "steady"
    await asyncio.sleep(0.01)
    dog.stop()
    ticker.cancel()
    reloaded = store.current().retry.step_time_budget_s == 59.0
    await asyncio.to_thread(ledger.close)
    return reloaded


async def _watched(dog: Watchdog, n: int, call: Any, first: str) -> None:
    dog.phase = "start"
    dog.start()
    ticker = asyncio.create_task(dog.tick())
    await asyncio.sleep(0.01)
    for i in range(n):
        dog.phase = first if i == 0 else "steady"
        await call(i)
    dog.phase = "steady"
    await asyncio.sleep(0.01)
    dog.stop()
    ticker.cancel()


def main() -> None:
    args = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(job(args))))


if __name__ == "__main__":
    main()
