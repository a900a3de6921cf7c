"""Fallback in real time: the fallback's request arrival, measured from the step's start.

Nothing is skipped: the engine sleeps with the real ``asyncio.sleep`` and runs the policy's
default retry settings. The loopback simulator (in a thread, so its ``time.time()`` arrival
stamps and ours share one clock) answers the primary with a 500 or a 503; for a refused
connection the primary's ``api_base`` is a loopback port nobody listens on. Each sample
gets a fresh circuit breaker, so the primary's circuit starts closed (the default policy's
first try); the circuit-open figure then opens it on purpose.
"""

from __future__ import annotations

import asyncio
import copy
import os
import socket
import statistics
import tempfile
import time
from typing import Any

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.contract.policy import parse_policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing.health import CircuitBreaker
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario
from auterity_ai_step.store.ledger import Ledger
from benchmarks.common import FAKE_KEY, INPUT, STEP, Stat, policy_document
from benchmarks.latency import FALLBACK, PRIMARY, simulator

os.environ.setdefault("OPENAI_API_KEY", FAKE_KEY)
CASES = ("500", "503", "refused")


def _dead_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()  # nothing listens here now: connection refused
    return port


async def _run(repeats: int, samples: int) -> dict[str, Stat]:
    out = {k: Stat() for k in ("ok_step", *CASES, "open_step", "open_extra", "primary_calls")}
    scenario = Scenario(models={PRIMARY: ModelBehaviour()}, default=ModelBehaviour(), seed=0)
    with simulator(scenario) as sim, tempfile.TemporaryDirectory() as tmp:
        doc = policy_document(sim.base_url)
        refused_doc: dict[str, Any] = copy.deepcopy(doc)
        refused_doc["models"]["openai"][PRIMARY]["api_base"] = f"http://127.0.0.1:{_dead_port()}/v1"
        policies = {"live": parse_policy(doc), "refused": parse_policy(refused_doc)}
        ledger = Ledger(f"sqlite:///{tmp}/ledger.db")
        node = WorkflowNode(id="realtime", type="ai", data=STEP)

        def executor(which: str, breaker: CircuitBreaker) -> AIStepExecutor:
            engine = Engine(PolicyStore.fixed(policies[which]), ledger, breaker=breaker)
            return AIStepExecutor(engine=engine)

        def fresh_breaker() -> CircuitBreaker:
            circuit = policies["live"].circuit
            return CircuitBreaker(circuit.failure_threshold, circuit.cooldown_s)

        async def step(ex: AIStepExecutor) -> float:
            started = time.time()
            result = await ex.execute_step(node, INPUT)
            assert result.success, result.error_message
            return started

        def script(outcome: str | int) -> None:
            sim.scenario.models[PRIMARY] = ModelBehaviour(outcomes=(outcome,))
            sim.reset()

        def fallback_arrival() -> float:
            return min(r.time for r in sim.requests if r.model == FALLBACK)

        for _ in range(3):  # warm up: connections, caches, tokenizer
            script("ok")
            await step(executor("live", fresh_breaker()))
            script(500)
            await step(executor("live", fresh_breaker()))
        for _ in range(repeats):
            gaps: dict[str, list[float]] = {k: [] for k in (*CASES, "ok", "open")}
            primary_calls: list[float] = []
            for _ in range(samples):
                script("ok")
                started = await step(executor("live", fresh_breaker()))
                gaps["ok"].append(time.time() - started)
                for case in CASES:
                    script("ok" if case == "refused" else int(case))
                    which = "refused" if case == "refused" else "live"
                    started = await step(executor(which, fresh_breaker()))
                    gaps[case].append(fallback_arrival() - started)
                    if case != "refused":
                        primary_calls.append(sim.count(PRIMARY))
                # The primary's circuit open (a known-down model): routing skips it.
                breaker = fresh_breaker()
                breaker.quarantine(PRIMARY, "benchmark: known down", 3600)
                script("ok")
                started = await step(executor("live", breaker))
                gaps["open"].append(time.time() - started)
                assert sim.count(PRIMARY) == 0
            ok = statistics.median(gaps["ok"])
            out["ok_step"].add(ok * 1000)
            for case in CASES:
                out[case].add(statistics.median(gaps[case]) * 1000)
            out["open_step"].add(statistics.median(gaps["open"]) * 1000)
            out["open_extra"].add((statistics.median(gaps["open"]) - ok) * 1000)
            out["primary_calls"].add(statistics.median(primary_calls))
        ledger.close()
    return out


def fallback(repeats: int, samples: int) -> dict[str, Stat]:
    """Medians per repeat, in ms: fallback arrival - step start, per case; OK and open steps."""
    return asyncio.run(_run(repeats, samples))
