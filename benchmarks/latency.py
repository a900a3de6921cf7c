"""Model switch and health check: wall-clock figures, in this process (fallback: ``realtime``).

The simulator runs in a thread here, so its request timestamps (``time.time()``) and ours
share one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.contract.policy import Policy, parse_policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing.health import CircuitBreaker, HealthMonitor
from auterity_ai_step.simulator.server import Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger
from benchmarks.common import FAKE_KEY, INPUT, STEP, Stat, policy_document, write_policy

os.environ.setdefault("OPENAI_API_KEY", FAKE_KEY)
PRIMARY, FALLBACK = "gpt-4o-mini", "gpt-4.1-mini"


class _NoWait:
    """A recording sleep that returns at once (backoff is not what is measured here)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@contextlib.contextmanager
def simulator(scenario: Scenario) -> Iterator[Simulator]:
    sim = Simulator(scenario)
    _url, stop = sim.run_in_thread()
    try:
        yield sim
    finally:
        stop()


def _ms(seconds: float) -> float:
    return seconds * 1000


async def _switch_until(
    executor: AIStepExecutor, sim: Simulator, node: WorkflowNode, wire_model: str, since: float
) -> float:
    """Run steps back to back until the simulator sees ``wire_model``; seconds since ``since``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = await executor.execute_step(node, INPUT)
        assert result.success, result.error_message
        hits = [r.time for r in sim.requests if r.model == wire_model and r.time >= since]
        if hits:
            return time.time() - since
    raise RuntimeError(f"model switch to {wire_model} not seen within 10 s")


async def _switch(repeats: int, samples: int) -> dict[str, Stat]:
    out = {k: Stat() for k in ("step", "file", "file_fast", "db")}
    node = WorkflowNode(id="switch", type="ai", data=STEP)
    with simulator(Scenario(seed=0)) as sim, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yml"
        doc = policy_document(sim.base_url)
        # The change: the policy's gpt-4o-mini entry now runs another wire model.
        other = copy.deepcopy(doc)
        other["models"]["openai"][PRIMARY]["litellm_model"] = f"openai/{FALLBACK}"
        write_policy(path, doc)
        ledger = Ledger(f"sqlite:///{tmp}/ledger.db")

        def executor_for(store: PolicyStore) -> AIStepExecutor:
            return AIStepExecutor(engine=Engine(store, ledger, sleep=_NoWait()))

        default_store = PolicyStore(path)
        fast_store = PolicyStore(path, check_interval_s=0.05)
        db_store = PolicyStore(path, overrides=ledger.model_configurations)
        stores = {"file": default_store, "file_fast": fast_store}
        for _ in range(repeats):
            steps = []
            for _ in range(samples):
                started = time.perf_counter()
                await executor_for(default_store).execute_step(node, INPUT)
                steps.append(time.perf_counter() - started)
            out["step"].add(_ms(statistics.median(steps)))
            for key, store in stores.items():
                executor = executor_for(store)
                times = []
                for n in range(samples):
                    target, wire = (other, FALLBACK) if n % 2 == 0 else (doc, PRIMARY)
                    since = time.time()
                    write_policy(path, target)
                    times.append(await _switch_until(executor, sim, node, wire, since))
                out[key].add(_ms(statistics.median(times)))
            write_policy(path, doc)
            default_store.reload()
            fast_store.reload()
            executor = executor_for(db_store)
            times = []
            for n in range(samples):
                wire = FALLBACK if n % 2 == 0 else PRIMARY
                configs = {PRIMARY: {"provider": "openai", "litellm_model": f"openai/{wire}"}}
                since = time.time()
                await asyncio.to_thread(ledger.put_model_configurations, configs)
                times.append(await _switch_until(executor, sim, node, wire, since))
            out["db"].add(_ms(statistics.median(times)))
            await asyncio.to_thread(ledger.put_model_configurations, {})
            sim.reset()
        ledger.close()
    return out


def _health_policy(doc: dict[str, Any], bases: list[str]) -> Policy:
    """Twelve OpenAI-protocol models, model ``i`` served at ``bases[i]``."""
    template = dict(doc["models"]["openai"][PRIMARY])
    models = {
        f"m{i:02d}": {**template, "litellm_model": f"openai/m{i:02d}", "api_base": base}
        for i, base in enumerate(bases)
    }
    routing = {"default_model": "m00", "fallback_chain": ["m00"], "task_preferences": {}}
    return parse_policy({**doc, "models": {"openai": models}, "routing_rules": routing})


async def _health(repeats: int) -> dict[str, Stat]:
    out = {k: Stat() for k in ("healthy", "faulty")}
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)  # the kernel accepts connections; nobody ever answers
    refuse = socket.socket()
    refuse.bind(("127.0.0.1", 0))
    refused_port = refuse.getsockname()[1]
    refuse.close()  # nothing listens here: connection refused
    try:
        with simulator(Scenario(seed=0)) as sim:
            doc = policy_document(sim.base_url)
            ok = f"{sim.base_url}/v1"
            hung = f"http://127.0.0.1:{hang.getsockname()[1]}/v1"
            dead = f"http://127.0.0.1:{refused_port}/v1"
            healthy = _health_policy(doc, [ok] * 12)
            faulty = _health_policy(doc, [ok] * 7 + [hung] * 3 + [dead] * 2)
            for policy in (healthy, faulty):  # warm up
                await HealthMonitor(PolicyStore.fixed(policy), CircuitBreaker()).check_all()
            for _ in range(repeats):
                for key, policy in (("healthy", healthy), ("faulty", faulty)):
                    monitor = HealthMonitor(PolicyStore.fixed(policy), CircuitBreaker())
                    started = time.perf_counter()
                    statuses = await monitor.check_all()
                    out[key].add(time.perf_counter() - started)
                    down = sum(s.status == "unavailable" for s in statuses)
                    assert down == (0 if key == "healthy" else 5), [s.to_dict() for s in statuses]
    finally:
        hang.close()
    return out


def model_switch(repeats: int, samples: int) -> dict[str, Stat]:
    return asyncio.run(_switch(repeats, samples))


def health(repeats: int) -> dict[str, Stat]:
    return asyncio.run(_health(repeats))
