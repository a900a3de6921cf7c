"""A real Prometheus scrapes ``serve`` and a worker while a bounded batch of steps runs.

The deployment in small: ``auterity-ai-step serve`` (a subprocess, on loopback) shares the
ledger with a worker process (this test process) that runs the steps and serves the same
app with its metrics. Prometheus (Debian's binary, its own config and storage) scrapes both
with the scrape-only token. Then its HTTP API must show the worker's cost counter equal to
the ledger's sum for the batch, and serve's budget gauge, read from the ledger by another
process, equal to the same sum.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn
from prometheus_server import PrometheusServer, free_port
from sim_policy import sim_policy_file
from tools import binary

from auterity_ai_step import AIStepExecutor, WorkflowNode, telemetry
from auterity_ai_step.api import create_app
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger
from auterity_ai_step.telemetry.prometheus import PrometheusMetrics

API_TOKEN = "api-token-" + "p" * 24
METRICS_TOKEN = "scrape-token-" + "m" * 24
BATCH = 8
STEP = {
    "config_version": 2,
    "prompt": "Hello {{ name }}",
    "model": "gpt-4o-mini",
    "fallback_models": ["claude-haiku-4-5"],
    "policy_fallbacks": False,
    "max_tokens": 50,
}


def _serve(port: int, policy: Path, db: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTERITY_AI_")}
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        AUTERITY_AI_API_TOKEN=API_TOKEN,
        AUTERITY_AI_METRICS_TOKEN=METRICS_TOKEN,
    )
    return subprocess.Popen(
        [
            *(sys.executable, "-c", "from auterity_ai_step.cli import main; main()", "serve"),
            *("--port", str(port), "--policy", str(policy), "--db", db),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_metrics(port: int, process: subprocess.Popen[str] | None = None) -> httpx.Response:
    for _ in range(300):
        if process is not None and process.poll() is not None:
            raise AssertionError(process.communicate()[1])
        try:
            answer = httpx.get(
                f"http://127.0.0.1:{port}/metrics",
                headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                timeout=2,
            )
        except httpx.TransportError:
            threading.Event().wait(0.1)
            continue
        return answer
    raise AssertionError(f"nothing answered on port {port}")


@pytest.fixture
def worker_metrics() -> Iterator[PrometheusMetrics]:
    metrics = PrometheusMetrics()
    metrics.bind()
    yield metrics
    telemetry.reset()
    metrics.close()


async def _settled(prometheus: PrometheusServer, expr: str, want: Decimal) -> Decimal:
    """The query's value once Prometheus has scraped the final figure (a later scrape
    replaces an earlier one; the last seen value is returned when time runs out)."""
    seen = Decimal(-1)
    for _ in range(120):
        result = await asyncio.to_thread(prometheus.query, expr)
        if result:
            seen = Decimal(result[0]["value"][1])
            if abs(seen - want) <= Decimal("1e-12"):
                return seen
        await asyncio.sleep(0.5)
    return seen


async def test_prometheus_sees_the_ledgers_cost_through_serve_and_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker_metrics: PrometheusMetrics
) -> None:
    prometheus_bin = binary("prometheus")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "k" * 32)
    scenario = Scenario(models={"gpt-4o-mini": ModelBehaviour(outcomes=("ok", 401), cycle=True)})
    async with Simulator(scenario) as sim:
        policy = sim_policy_file(tmp_path, sim.base_url)
        db = f"sqlite:///{tmp_path / 'ledger.db'}"
        ledger = Ledger(db)
        store = PolicyStore(policy, overrides=ledger.model_configurations)
        serve_port, worker_port = free_port(), free_port()
        serve = _serve(serve_port, policy, db)
        worker_app = create_app(
            api_token=API_TOKEN,
            policy_store=store,
            ledger=ledger,
            metrics=worker_metrics,
            metrics_token=METRICS_TOKEN,
        )
        server = uvicorn.Server(
            uvicorn.Config(worker_app, host="127.0.0.1", port=worker_port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        prometheus: PrometheusServer | None = None
        try:
            assert (await asyncio.to_thread(_wait_metrics, serve_port, serve)).status_code == 200
            assert (await asyncio.to_thread(_wait_metrics, worker_port)).status_code == 200
            prometheus = await asyncio.to_thread(
                PrometheusServer,
                prometheus_bin,
                {
                    "serve": (f"127.0.0.1:{serve_port}", METRICS_TOKEN),
                    "worker": (f"127.0.0.1:{worker_port}", METRICS_TOKEN),
                },
            )
            executor = AIStepExecutor(policy_store=store, ledger=ledger)
            ids = [f"batch-{n}" for n in range(BATCH)]
            results = []
            for execution_id in ids:  # bounded: BATCH steps, while Prometheus scrapes
                node = WorkflowNode("node-1", "ai", STEP)
                results.append(await executor.execute_step(node, {"name": "Ada"}, execution_id))
                await asyncio.sleep(0.2)
            assert all(r.success for r in results), [r.error_message for r in results]
            fell_back = sum(1 for r in results if r.output_data["ai_model"] == "claude-haiku-4-5")
            assert 0 < fell_back < BATCH
            rows = [row for e in ids for row in ledger.execution_usage(e)]
            ledger_sum = sum((Decimal(str(row["cost"])) for row in rows), Decimal(0))
            assert ledger_sum > 0

            cost = await _settled(
                prometheus, 'sum(auterity_ai_step_cost_usd_total{job="worker"})', ledger_sum
            )
            spent = await _settled(
                prometheus, 'max(auterity_ai_step_budget_spent_today_usd{job="serve"})', ledger_sum
            )
            fallbacks = await _settled(
                prometheus,
                'sum(auterity_ai_step_fallbacks_total{job="worker"})',
                Decimal(fell_back),
            )
            up = await asyncio.to_thread(prometheus.query, "up")
        finally:
            if prometheus is not None:
                logs = prometheus.logs()
                prometheus.stop()
            server.should_exit = True
            thread.join(timeout=10)
            serve.terminate()
            try:
                serve.wait(timeout=10)
            except subprocess.TimeoutExpired:
                serve.kill()
            ledger.close()
    assert {r["metric"]["job"]: r["value"][1] for r in up} == {"serve": "1", "worker": "1"}, logs
    assert abs(cost - ledger_sum) <= Decimal("1e-12"), (cost, ledger_sum)
    assert abs(spent - ledger_sum) <= Decimal("1e-12"), (spent, ledger_sum)
    assert fallbacks == fell_back
