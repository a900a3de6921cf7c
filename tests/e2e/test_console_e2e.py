"""The web console end to end in a real headless Chromium.

The demo fills a SQLite ledger; the loopback simulator stands in for every provider, with
one model in an outage; ``auterity-ai-step serve`` serves the API and the console on that
policy and ledger; then ``web/e2e/console.e2e.mjs`` drives Debian's ``chromium`` with
puppeteer-core through every page (axe-core checks, screenshots in ``$CONSOLE_ARTIFACTS``
or ``web/e2e/artifacts``). Needs ``chromium`` and ``npm ci`` in ``web/``: skipped without
them, failed in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from auterity_ai_step.resources import bundled_policy_path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOKEN = "console-e2e-token-" + "x" * 16
HEALTHY, DOWN = "gpt-4o-mini", "gpt-4"

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if CHROMIUM is None:
        return "no chromium (apt-get install chromium)"
    if shutil.which("node") is None or not (WEB / "node_modules" / "puppeteer-core").is_dir():
        return "no web/node_modules (npm ci in web/)"
    return None


@pytest.fixture(autouse=True)
def _needs_a_browser() -> None:
    reason = _missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the console end-to-end test cannot run in CI: {reason}")
    if reason:
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, process: subprocess.Popen[str], headers: dict[str, str]) -> None:
    for _ in range(600):
        assert process.poll() is None, process.communicate()
        try:
            httpx.get(url, headers=headers, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within 60 s")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(console URL, demo execution id): demo run, simulator and serve started."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTERITY_AI_")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    demo = subprocess.run(
        [sys.executable, "-m", "auterity_ai_step", "demo", "--simulator", "--db", db],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    (execution_id,) = set(re.findall(r"demo-[0-9a-f]{12}", demo.stdout))

    sim_port, api_port = _free_port(), _free_port()
    scenario = tmp_path / "outage.yml"
    scenario.write_text(
        yaml.safe_dump(
            {"default": {"latency_ms": 30}, "models": {DOWN: {"outcomes": [503], "cycle": True}}}
        )
    )
    policy = yaml.safe_load(bundled_policy_path().read_text())
    sim = f"http://127.0.0.1:{sim_port}"
    for provider, models in policy["models"].items():  # grouped by provider
        for spec in models.values():
            spec["api_base"] = f"{sim}/v1" if provider == "openai" else sim
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
    keys = dict.fromkeys(("OPENAI_API_KEY", "ANTHROPIC_API_KEY"), "sk-simulated-" + "k" * 20)
    cli = [sys.executable, "-m", "auterity_ai_step"]
    processes = [
        subprocess.Popen(
            [*cli, "simulate", "--scenario", str(scenario), "--port", str(sim_port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        subprocess.Popen(
            [*cli, "serve", "--port", str(api_port), "--policy", str(policy_file), "--db", db],
            # The console signs in as the admin (health checks, configuration): only the
            # admin token is admin, so serve gets both and the browser the admin one.
            env={
                **env,
                **keys,
                "AUTERITY_AI_API_TOKEN": "console-e2e-user-" + "y" * 16,
                "AUTERITY_AI_ADMIN_TOKEN": TOKEN,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    ]
    try:
        _wait(f"{sim}/", processes[0], {})
        _wait(f"http://127.0.0.1:{api_port}/", processes[1], {})
        yield f"http://127.0.0.1:{api_port}/", execution_id
    finally:
        for process in processes:
            process.terminate()
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def test_console_end_to_end_in_headless_chromium(stack: tuple[str, str]) -> None:
    url, execution_id = stack
    artifacts = Path(os.environ.get("CONSOLE_ARTIFACTS", WEB / "e2e" / "artifacts"))
    run = subprocess.run(
        ["node", "e2e/console.e2e.mjs"],
        cwd=WEB,
        env={
            **os.environ,
            "CONSOLE_URL": url,
            "API_TOKEN": TOKEN,
            "EXECUTION_ID": execution_id,
            "HEALTHY_MODEL": HEALTHY,
            "DOWN_MODEL": DOWN,
            "ARTIFACTS": str(artifacts),
            "CHROMIUM": str(CHROMIUM),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for page in ("sign-in", "models", "step-builder", "usage", "executions", "configuration"):
        assert (artifacts / f"{page}.png").stat().st_size > 10_000, page
    assert "opened the demo's execution timeline" in run.stdout
