"""The console's API routes through HTTP: the standalone app on a real SQLite ledger."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from api_support import ADMIN_TOKEN, USER_TOKEN
from fastapi import FastAPI
from typer.testing import CliRunner

from auterity_ai_step.api import console_models as api_console_models
from auterity_ai_step.api.router import create_app
from auterity_ai_step.cli import app as cli
from auterity_ai_step.core.estimate import estimate_step
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing.health import HealthMonitor
from auterity_ai_step.store.ledger import Ledger, UsageRecord

Client = Callable[..., httpx.AsyncClient]


def _row(execution: str, node: str, model: str, cost: str, **kw: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "execution_id": execution,
        "node_id": node,
        "model_name": model,
        "provider": "ollama" if model == "local-llama" else "openai",
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "cost": Decimal(cost),
        "latency_ms": 100,
        "status": "success",
        "error_type": None,
        "attempt": 1,
        "is_fallback": False,
        "price_version": "v1",
    }
    values.update(kw)
    return UsageRecord(**values)


def _seed(ledger: Ledger) -> None:
    today = datetime.now(UTC).date()
    for latency in (100, 200, 300, 400):
        ledger.record(_row("exec-1", "draft", "sim-gpt", "0.5", latency_ms=latency), day=today)
    ledger.record(
        _row("exec-2", "draft", "sim-premium", "0", status="error", error_type="timeout"),
        day=today,
    )
    ledger.record(
        _row("exec-2", "reply", "local-llama", "0.25", attempt=2, is_fallback=True, latency_ms=7),
        day=today,
    )


async def test_usage_series_by_model_and_by_provider(
    user: httpx.AsyncClient, ledger: Ledger
) -> None:
    _seed(ledger)
    today = datetime.now(UTC).date().isoformat()
    body = (await user.get("/api/models/usage/series", params={"days": 7})).json()
    assert body["group_by"] == "model" and body["days"] == 7
    assert body["groups"] == ["local-llama", "sim-gpt", "sim-premium"]
    assert [(p["day"], p["group"], p["calls"], p["cost"]) for p in body["points"]] == [
        (today, "local-llama", 1, "0.25"),
        (today, "sim-gpt", 4, "2"),
        (today, "sim-premium", 1, "0"),
    ]
    by_provider = (
        await user.get("/api/models/usage/series", params={"group_by": "provider"})
    ).json()
    assert [(p["group"], p["calls"], p["errors"], p["cost"]) for p in by_provider["points"]] == [
        ("ollama", 1, 0, "0.25"),
        ("openai", 5, 1, "2"),
    ]
    bad = await user.get("/api/models/usage/series", params={"group_by": "colour"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "group_by"]


async def test_usage_performance_percentiles_errors_fallbacks_and_top_costs(
    user: httpx.AsyncClient, ledger: Ledger
) -> None:
    _seed(ledger)
    body = (await user.get("/api/models/usage/performance", params={"top": 1})).json()
    models = {m["model"]: m for m in body["models"]}
    gpt = models["sim-gpt"]
    assert (gpt["calls"], gpt["p50_latency_ms"], gpt["p95_latency_ms"]) == (4, 200, 400)
    assert models["sim-premium"]["error_rate_percent"] == "100"
    assert gpt["error_rate_percent"] == "0"
    assert models["local-llama"]["fallbacks"] == 1 and gpt["fallbacks"] == 0
    assert body["top_executions"] == [{"key": "exec-1", "attempts": 4, "cost": "2"}]
    assert body["top_nodes"] == [{"key": "draft", "attempts": 5, "cost": "2"}]


async def test_budget_status_today_and_month_pace(user: httpx.AsyncClient, ledger: Ledger) -> None:
    body = (await user.get("/api/models/budget")).json()
    assert (body["daily_budget"], body["alert_at"], body["state"]) == ("5", "4", "ok")
    _seed(ledger)  # 2.25 spent today
    ledger.reserve(Decimal("2"), day=datetime.now(UTC).date(), daily_budget=Decimal(5))
    body = (await user.get("/api/models/budget")).json()
    today = datetime.now(UTC).date()
    assert (body["spent_today"], body["reserved_today"], body["left_today"]) == (
        "2.25",
        "2",
        "0.75",
    )
    assert body["state"] == "alert"  # 4.25 of 5 is past the 80 % threshold
    assert body["month_spent"] == "2.25" and body["month_days_elapsed"] == today.day
    expected = Decimal("2.25") / today.day * body["month_days"]
    assert Decimal(body["month_projection"]) == expected.quantize(Decimal("1e-10"))
    assert body["month_budget"] == str(5 * body["month_days"])


def _step_file(tmp_path: Path, step: dict[str, Any]) -> Path:
    path = tmp_path / "step.yml"
    path.write_text(yaml.safe_dump(step), encoding="utf-8")
    return path


async def test_step_validate_says_what_the_cli_says(
    user: httpx.AsyncClient, policy_file: Path, tmp_path: Path
) -> None:
    bad = {"config_version": 2, "prompt": "hi", "template": "x", "model": "gpt-99", "top_p": 3}
    body = (await user.post("/api/models/step/validate", json={"step": bad})).json()
    assert body["valid"] is False and body["legacy"] is False
    result = CliRunner().invoke(
        cli, ["validate", str(_step_file(tmp_path, bad)), "--policy", str(policy_file)]
    )
    assert result.exit_code == 1
    cli_lines = [line.removeprefix("error: ") for line in result.output.strip().splitlines()]
    assert body["errors"] == cli_lines and len(cli_lines) >= 2
    good = {"config_version": 2, "prompt": "hi", "model": "sim-gpt"}
    ok = (await user.post("/api/models/step/validate", json={"step": good})).json()
    assert ok == {"valid": True, "legacy": False, "errors": []}
    legacy = (await user.post("/api/models/step/validate", json={"step": {"prompt": "hi"}})).json()
    assert legacy == {"valid": True, "legacy": True, "errors": []}


async def test_step_estimate_per_candidate_against_the_cost_limit(
    user: httpx.AsyncClient, policy_store: PolicyStore, ledger: Ledger
) -> None:
    step = {
        "config_version": 2,
        "prompt": "Answer {{ question }}",
        "model": "sim-premium",
        "fallback_models": ["sim-gpt"],
        "policy_fallbacks": False,
        "max_tokens": 1000,
        "cost_limit": 0.01,
    }
    response = await user.post(
        "/api/models/step/estimate", json={"step": step, "input": {"question": "why?"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {c["model"]: c for c in body["candidates"]}
    assert list(rows) == ["sim-premium", "sim-gpt"]
    # sim-premium: 1000 output tokens at 0.015/1k alone is 0.015 > 0.01
    assert rows["sim-premium"]["fits_cost_limit"] is False
    gpt = rows["sim-gpt"]
    assert gpt["fits_cost_limit"] is True and gpt["max_tokens"] == 1000
    cli = estimate_step(step, {"question": "why?"}, policy_store.current(), ledger=ledger)
    assert body["prompt_tokens"] == cli.prompt_tokens
    assert [Decimal(c["worst_case"]) for c in body["candidates"]] == [
        r.worst_case for r in cli.rows
    ]
    assert body["each_model"] == []
    missing = await user.post("/api/models/step/estimate", json={"step": step})
    assert missing.status_code == 422
    assert missing.json()["detail"]["message"] == "the prompt cannot be rendered"
    asked = {"step": step, "input": {"question": "why?"}, "each_model": True}
    each = (await user.post("/api/models/step/estimate", json=asked)).json()["each_model"]
    assert [c["model"] for c in each] == [
        "sim-gpt",
        "sim-premium",
        "sim-down",
        "sim-hang",
        "local-llama",
    ]
    assert {c["model"]: c["worst_case"] for c in each}["local-llama"] == "0"
    longer = {**step, "prompt": "Answer {{ question }} " + "in detail " * 200}
    more = (
        await user.post(
            "/api/models/step/estimate", json={"step": longer, "input": {"question": "why?"}}
        )
    ).json()
    assert more["prompt_tokens"] > body["prompt_tokens"]
    invalid = await user.post("/api/models/step/estimate", json={"step": {"model": 3}})
    assert invalid.status_code == 422
    assert invalid.json()["detail"]["message"] == "the step is not valid"


async def test_try_runs_the_step_on_the_simulator_without_touching_the_ledger(
    user: httpx.AsyncClient, ledger: Ledger
) -> None:
    step = {"config_version": 2, "prompt": "Hi {{ name }}", "model": "sim-down"}
    step |= {"fallback_models": ["sim-gpt"], "policy_fallbacks": False}
    response = await user.post("/api/models/step/try", json={"step": step, "input": {"name": "Al"}})
    assert response.status_code == 200, response.text
    body = response.json()
    # the policy's sim-down is down, but a try runs on a simulator where every model answers
    assert (body["success"], body["model"], body["error"]) == (True, "sim-down", None)
    assert body["response"] == "Simulated answer."
    assert [(a["model"], a["outcome"]) for a in body["attempts"]] == [("sim-down", "success")]
    assert Decimal(body["cost"]) > 0
    assert ledger.execution_usage("console-try") == []
    assert ledger.totals(1)["calls"] == 0
    broken = {"config_version": 2, "model": "sim-gpt"}  # no prompt source
    failed = (await user.post("/api/models/step/try", json={"step": broken})).json()
    assert (failed["success"], failed["error_type"]) == (False, "invalid_config")
    assert "exactly one of prompt, template or messages" in failed["error"]


async def test_status_lists_every_model_with_circuit_and_reason(
    user: httpx.AsyncClient,
) -> None:
    body = (await user.get("/api/models/status")).json()
    assert [m["model"] for m in body] == sorted(
        ["sim-gpt", "sim-premium", "sim-down", "sim-hang", "local-llama"]
    )
    assert {m["status"] for m in body} == {"unknown"}
    assert {m["circuit"] for m in body} == {"closed"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger
) -> Iterator[tuple[str, HealthMonitor]]:
    """The app on a real loopback uvicorn server (ASGI transports buffer whole bodies)."""
    monitor = HealthMonitor.for_policy(policy_store)
    app = create_app(
        api_token=USER_TOKEN,
        admin_token=ADMIN_TOKEN,
        policy_store=policy_store,
        ledger=ledger,
        monitor=monitor,
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(300):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}", monitor
    finally:
        server.should_exit = True
        thread.join(timeout=20)


async def _events(response: httpx.Response) -> AsyncIterator[list[dict[str, Any]]]:
    kind = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind == "status":
            yield json.loads(line.removeprefix("data: "))


async def test_status_stream_sends_the_list_then_each_change(
    served: tuple[str, HealthMonitor],
) -> None:
    base, monitor = served
    headers = {"Authorization": f"Bearer {USER_TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        refused = await client.get(
            "/api/models/status/stream", headers={"Authorization": "Bearer x" * 3}
        )
        assert refused.status_code == 401
        async with client.stream(
            "GET", "/api/models/status/stream", params={"interval_s": 0.2}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response)
            first = await asyncio.wait_for(anext(events), 20)
            assert {m["model"]: m["status"] for m in first}["sim-gpt"] == "unknown"
            monitor.breaker.quarantine("sim-gpt", "provider outage drill")
            second = await asyncio.wait_for(anext(events), 20)
    gpt = {m["model"]: m for m in second}["sim-gpt"]
    assert (gpt["status"], gpt["circuit"]) == ("unavailable", "open")
    assert "provider outage drill" in gpt["reason"]


async def test_console_routes_refuse_without_a_token(app: FastAPI, client_for: Client) -> None:
    async with client_for(app) as client:
        for path in ("/api/models/usage/series", "/api/models/budget", "/api/models/status"):
            assert (await client.get(path)).status_code == 401, path
        step = await client.post("/api/models/step/validate", json={"step": {}})
        assert step.status_code == 401


async def test_openapi_describes_every_console_field(app: FastAPI, client_for: Client) -> None:
    async with client_for(app) as client:
        spec = (await client.get("/openapi.json")).json()
    schemas = dict(spec["components"]["schemas"])
    # Request bodies are read after authentication, so their schemas sit inline on the route.
    for path in ("step/validate", "step/estimate", "step/try"):
        body = spec["paths"][f"/api/models/{path}"]["post"]["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        schemas.setdefault(schema["title"], schema)
    ours = [name for name in api_console_models.__all__ if name in schemas]
    assert len(ours) == len(api_console_models.__all__)
    for name in ours:
        assert schemas[name].get("description"), name
        for field, prop in schemas[name]["properties"].items():
            assert prop.get("description"), f"{name}.{field}"


def test_serve_serves_the_built_console_at_the_root(tmp_path: Path) -> None:
    """``serve`` answers ``/`` with the console (no token needed: it holds no data) and its
    assets, while the API beside it still wants the token."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTERITY_AI_")}
    env["AUTERITY_AI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    env["AUTERITY_AI_API_TOKEN"] = USER_TOKEN
    command = [sys.executable, "-m", "auterity_ai_step", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            assert process.poll() is None, process.communicate()
            try:
                page = httpx.get(f"{base}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200
        assert "<title>auterity-ai-step console</title>" in page.text
        (script,) = re.findall(r'src="\./(assets/index-[^"]+\.js)"', page.text)
        asset = httpx.get(f"{base}/{script}", timeout=5)
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        assert httpx.get(f"{base}/api/models/available", timeout=5).status_code == 401
        assert httpx.get(f"{base}/openapi.json", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=20)
