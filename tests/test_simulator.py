"""The loopback provider simulator: protocols, scripted outcomes, scenarios, the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from typer.testing import CliRunner

from auterity_ai_step.simulator.scenario import approx_tokens
from auterity_ai_step.simulator.server import (
    ModelBehaviour,
    Outcome,
    Scenario,
    Simulator,
    load_scenario,
)

CHAT = {"model": "m", "messages": [{"role": "user", "content": "Hello simulator"}]}


async def post(base: str, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
    async with aiohttp.ClientSession() as session, session.post(base + path, json=body) as resp:
        text = await resp.text()
        try:
            data = json.loads(text)
        except ValueError:
            data = text
        return resp.status, dict(resp.headers), data


def scenario(**models: ModelBehaviour) -> Scenario:
    return Scenario(models=dict(models), default=None)


async def test_openai_protocol_and_usage() -> None:
    behaviour = ModelBehaviour(answer=lambda prompt: prompt.upper())
    async with Simulator(scenario(m=behaviour)) as sim:
        for path in ("/v1/chat/completions", "/chat/completions"):
            status, _, data = await post(sim.base_url, path, CHAT)
            assert status == 200
            assert data["choices"][0]["message"]["content"] == "HELLO SIMULATOR"
            assert data["usage"]["prompt_tokens"] == approx_tokens("Hello simulator")
        assert sim.count("m") == 2 and sim.count() == 2
        assert [r.path for r in sim.requests] == ["/v1/chat/completions", "/chat/completions"]


async def test_ollama_and_anthropic_protocols() -> None:
    behaviour = ModelBehaviour(outcomes=("ok", "no_choices", "empty_length"), usage=False)
    async with Simulator(scenario(m=behaviour)) as sim:
        _, _, chat = await post(sim.base_url, "/api/chat", CHAT)
        assert chat["message"]["content"] == "Simulated answer." and "eval_count" not in chat
        _, _, gen = await post(sim.base_url, "/api/generate", {"model": "m", "prompt": "hi"})
        assert "message" not in gen and "response" not in gen
        _, _, empty = await post(sim.base_url, "/api/generate", {"model": "m", "prompt": "hi"})
        assert empty["response"] == "" and empty["done_reason"] == "length"
        sim.reset()
        body = {**CHAT, "system": [{"type": "text", "text": "sys"}], "max_tokens": 5}
        _, _, msg = await post(sim.base_url, "/v1/messages", body)
        assert msg["content"][0]["text"] == "Simulated answer."
        _, _, none = await post(sim.base_url, "/v1/messages", body)
        assert "content" not in none
        _, _, cut = await post(sim.base_url, "/v1/messages", body)
        assert cut["content"] == [] and cut["stop_reason"] == "max_tokens"
        async with (
            aiohttp.ClientSession() as session,
            session.get(sim.base_url + "/api/tags") as resp,
        ):
            assert [m["name"] for m in (await resp.json())["models"]] == ["m"]


async def test_errors_retry_after_and_unknown_models() -> None:
    behaviour = ModelBehaviour(outcomes=("429 retry-after=3", {"status": 503}, "context_overflow"))
    async with Simulator(scenario(m=behaviour)) as sim:
        status, headers, data = await post(sim.base_url, "/v1/chat/completions", CHAT)
        assert status == 429 and headers["Retry-After"] == "3"
        assert data["error"]["type"] == "rate_limit_error"
        status, _, data = await post(sim.base_url, "/api/chat", CHAT)
        assert status == 503 and data == {"error": "simulated error 503"}
        status, _, data = await post(sim.base_url, "/v1/messages", CHAT)
        assert status == 400 and "maximum context length" in data["error"]["message"]
        status, _, _ = await post(sim.base_url, "/v1/chat/completions", {**CHAT, "model": "x"})
        assert status == 404
        status, _, _ = await post(sim.base_url, "/v1/chat/completions", ["not", "an", "object"])
        assert status == 400


async def test_an_exact_error_body_is_sent_as_given() -> None:
    tgi = {"error": "Input validation error: `inputs` must have less than 4096 tokens"}
    page = "<html><title>504 Gateway Time-out</title></html>"
    outcomes = ({"status": 422, "body": tgi, "retry_after": 2}, {"status": 504, "body": page})
    async with Simulator(scenario(m=ModelBehaviour(outcomes=outcomes))) as sim:
        status, headers, data = await post(sim.base_url, "/v1/chat/completions", CHAT)
        assert (status, data, headers["Retry-After"]) == (422, tgi, "2")
        status, headers, data = await post(sim.base_url, "/api/chat", CHAT)
        assert (status, data) == (504, page)
        assert headers["Content-Type"].startswith("text/html")


async def test_malformed_drop_and_timeout_released_on_stop() -> None:
    behaviour = ModelBehaviour(outcomes=("malformed", "drop", "timeout"), latency_ms=1, hang_s=30)
    sim = Simulator(scenario(m=behaviour))
    await sim.start()
    status, _, data = await post(sim.base_url, "/v1/chat/completions", CHAT)
    assert status == 200 and isinstance(data, str)
    with pytest.raises(aiohttp.ClientError):
        await post(sim.base_url, "/v1/chat/completions", CHAT)
    hanging = asyncio.ensure_future(post(sim.base_url, "/v1/chat/completions", CHAT))
    await asyncio.sleep(0.1)
    assert not hanging.done()
    await asyncio.wait_for(sim.stop(), 5)
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(hanging, 5)
    assert [r.outcome for r in sim.requests] == ["malformed", "drop", "timeout"]


def test_outcome_sequences() -> None:
    rng = random.Random(1)
    cycled = ModelBehaviour(outcomes=("500", "ok")).outcome_stream(rng)
    assert [next(cycled).label for _ in range(4)] == ["500", "ok", "500", "ok"]
    held = ModelBehaviour(outcomes=(500, "ok"), cycle=False).outcome_stream(rng)
    assert [next(held).label for _ in range(4)] == ["500", "ok", "ok", "ok"]
    assert next(ModelBehaviour(outcomes=()).outcome_stream(rng)).label == "ok"


def test_chaos_is_seeded() -> None:
    behaviour = ModelBehaviour(chaos={"ok": 0.5, "500": 0.5})
    draws = [
        [next(s).label for _ in range(20)]
        for s in (behaviour.outcome_stream(random.Random(s)) for s in ("7:m", "7:m"))
    ]
    assert draws[0] == draws[1] and set(draws[0]) == {"ok", "500"}


def test_outcome_parsing() -> None:
    assert Outcome.parse("ok") == Outcome()
    assert Outcome.parse(Outcome("drop")) == Outcome("drop")
    assert Outcome.parse("429 retry-after=2") == Outcome("status", 429, "2")
    assert Outcome.parse({"status": 429, "retry_after": 1}).retry_after == "1"
    assert Outcome.parse({"kind": "timeout"}).kind == "timeout"
    assert Outcome.parse({"status": 402, "body": {"error": "no credit"}}).body == {
        "error": "no credit"
    }
    for bad in ("explode", "ok retry-after=2", "500 later"):
        with pytest.raises(ValueError, match="unknown simulator outcome"):
            Outcome.parse(bad)


def test_scenario_files(tmp_path: Path) -> None:
    yml = tmp_path / "s.yml"
    yml.write_text("seed: 3\ndefault: null\nmodels:\n  a:\n    outcomes: 500\n  b: {}\n")
    loaded = load_scenario(yml)
    assert loaded.seed == 3 and loaded.default is None
    assert loaded.behaviour("a") is not None and loaded.behaviour("zzz") is None
    as_json = tmp_path / "s.json"
    as_json.write_text(json.dumps({"models": {"a": {"latency_ms": 5}}}))
    assert load_scenario(as_json).behaviour("other") is not None
    for text, match in (
        ("- 1\n", "mapping"),
        ("modles: {}\n", "unknown scenario keys"),
        ("models: {a: {latncy: 1}}\n", "unknown model behaviour keys"),
        ("default: {outcomes: [boom]}\n", "unknown simulator outcome"),
    ):
        yml.write_text(text)
        with pytest.raises(ValueError, match=match):
            load_scenario(yml)


def test_run_in_thread_for_sync_callers() -> None:
    sim = Simulator(scenario(m=ModelBehaviour(answer="threaded")))
    base, stop = sim.run_in_thread()
    try:
        request = urllib.request.Request(
            base + "/v1/chat/completions",
            data=json.dumps(CHAT).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert json.load(resp)["choices"][0]["message"]["content"] == "threaded"
    finally:
        stop()
    stop()  # idempotent
    assert sim.count("m") == 1


def test_run_in_thread_reports_a_busy_port() -> None:
    first = Simulator()
    base, stop = first.run_in_thread()
    try:
        with pytest.raises(OSError):
            Simulator(port=first.port).run_in_thread()
    finally:
        stop()
    assert base.startswith("http://127.0.0.1:")


def test_cli_simulate(tmp_path: Path) -> None:
    from auterity_ai_step.cli import (
        app,
        sim_cmds,  # noqa: F401 - registers the command
    )

    path = tmp_path / "s.yml"
    path.write_text("models:\n  gpt-4o-mini: {outcomes: [500, ok]}\n  llama3: {chaos: {ok: 1}}\n")
    runner = CliRunner()
    result = runner.invoke(
        app, ["simulate", "--scenario", str(path), "--seed", "1", "--exit-after", "0.1"]
    )
    assert result.exit_code == 0, result.output
    assert "simulator listening on http://127.0.0.1:" in result.output
    assert "gpt-4o-mini: 500, ok" in result.output and "llama3: chaos" in result.output
    bad = tmp_path / "bad.yml"
    bad.write_text("models: {a: {nope: 1}}\n")
    result = runner.invoke(app, ["simulate", "--scenario", str(bad)])
    assert result.exit_code == 2 and "cannot load scenario" in result.output


def _scenario_example() -> str:
    from auterity_ai_step.cli.sim_cmds import SCENARIO_FORMAT

    (block,) = [p for p in SCENARIO_FORMAT.split("\n\n") if p.startswith("\b\n")]
    return block.removeprefix("\b\n")


def test_simulate_help_shows_the_scenario_format_verbatim() -> None:
    from auterity_ai_step.cli import app

    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0, result.output
    example = _scenario_example().splitlines()
    lines = [line.rstrip() for line in result.output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.strip() == example[0])
    shown = textwrap.dedent("\n".join(lines[start : start + len(example)]))
    assert shown.splitlines() == example  # every line whole: not wrapped, not re-flowed
    assert all(len(line) < 78 for line in example)
    output = " ".join(result.output.replace("│", " ").split())  # panel borders out
    assert "Outcomes: ok; an HTTP status" in output and "context_overflow" in output
    assert "its format is shown below the options" in output
    assert "module doc" not in output


def test_simulate_help_without_rich_keeps_the_example() -> None:
    """click's plain formatter (TYPER_USE_RICH=0) re-flows paragraphs unless marked ``\\b``."""
    code = "from auterity_ai_step.cli import app; app(['simulate', '--help'])"
    env = {**os.environ, "TYPER_USE_RICH": "0", "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert textwrap.indent(_scenario_example(), "  ") in done.stdout


def test_the_documented_scenario_loads_and_uses_every_key(tmp_path: Path) -> None:
    path = tmp_path / "example.yml"
    path.write_text(_scenario_example(), encoding="utf-8")
    loaded = load_scenario(path)
    assert loaded.seed == 7 and loaded.default is not None
    assert loaded.default.latency_ms == 20
    gpt = loaded.models["gpt-4o-mini"]
    assert [o.label for o in gpt._parsed] == ["500", "429", "ok"]
    assert gpt._parsed[1].retry_after == "2"
    data = yaml.safe_load(_scenario_example())
    used = {key for spec in data["models"].values() for key in spec}
    fields = {f.name for f in dataclasses.fields(ModelBehaviour) if f.init}
    assert used == fields and set(data) == {"seed", "default", "models"}
