"""The live status of slow commands: on a terminal, stderr says what is happening (loading
providers, then one row per model as its health check answers); piped or with ``--quiet``
it says nothing. And a step's milliseconds measure the step, not LiteLLM's import."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auterity_ai_step.cli import app
from auterity_ai_step.routing import gateway

runner = CliRunner()


def run_on_a_terminal(*args: str, tmp_path: Path) -> tuple[int, str, str]:
    """The command in a subprocess whose stderr is a pseudo-terminal (stdout is piped)."""
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "TERM": "xterm",
        "COLUMNS": "120",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "AUTERITY_AI_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "auterity_ai_step", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def pump() -> None:  # a pty's buffer is small: read while the command runs
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the command has exited and closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=pump)
    reader.start()
    out = proc.communicate(timeout=300)[0]
    reader.join(30)
    os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


def test_health_on_a_terminal_shows_each_model_as_it_answers(tmp_path: Path) -> None:
    code, out, err = run_on_a_terminal(
        "health", "--simulator", "gpt-4o-mini", "llama3.1", tmp_path=tmp_path
    )
    assert code == 0, err
    assert "loading providers (LiteLLM)" in err  # the import takes seconds
    assert "  gpt-4o-mini: available\r\n" in err
    assert "  llama3.1: unavailable (model_not_found: " in err
    assert "model health" in out and "gpt-4o-mini" in out  # the table itself on stdout


def test_quiet_on_a_terminal_shows_no_status(tmp_path: Path) -> None:
    code, _, err = run_on_a_terminal(
        "health", "--simulator", "--quiet", "gpt-4o-mini", tmp_path=tmp_path
    )
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("using the built-in provider simulator at ")


def test_piped_stderr_gets_no_status() -> None:
    result = runner.invoke(app, ["health", "--simulator", "gpt-4o-mini"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if line.startswith("using the built-in")
    ]
    assert "loading providers" not in result.output


@pytest.fixture
def slow_import(monkeypatch: pytest.MonkeyPatch) -> Callable[[], float]:
    """LiteLLM's first import made to cost a minute on the executor's clock: the clock jumps
    60 s the first time ``preload`` runs, whoever calls it."""
    jump = [0.0]
    loaded = [False]
    real_clock, real_preload = time.perf_counter, gateway.preload

    async def preload() -> None:
        await real_preload()
        if not loaded[0]:
            loaded[0] = True
            jump[0] += 60.0

    monkeypatch.setattr(gateway, "preload", preload)
    monkeypatch.setattr(time, "perf_counter", lambda: real_clock() + jump[0])
    return lambda: jump[0]


def test_a_steps_milliseconds_do_not_count_the_import(
    tmp_path: Path, slow_import: Callable[[], float]
) -> None:
    step = tmp_path / "step.yml"
    step.write_text("config_version: 2\nprompt: Hello\nmodel: gpt-4o-mini\n")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = runner.invoke(app, ["run", str(step), "--simulator", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    assert slow_import() == 60.0  # the import happened in this run
    assert json.loads(result.stdout)["duration_ms"] < 60_000
