"""The README's Python snippets run exactly as shown.

The first runs a step on its own (against the loopback simulator, named by the policy the
reader would set); the second is the one-line wiring into Auterity, run inside the model
host of tests/auterity_host.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_policy import sim_policy_file

from auterity_ai_step.simulator.server import Simulator
from auterity_ai_step.store.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)


@pytest.fixture(scope="module")
def simulator_base() -> Iterator[str]:
    base, stop = Simulator().run_in_thread()
    try:
        yield base
    finally:
        stop()


def run(code: str, cwd: Path, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_readme_has_its_two_snippets() -> None:
    assert len(SNIPPETS) == 2
    assert "asyncio.run(main())" in SNIPPETS[0]
    assert "install_workflow_engine()" in SNIPPETS[1]


def test_the_step_snippet_runs_and_records_its_execution(
    tmp_path: Path, simulator_base: str
) -> None:
    ledger = f"sqlite:///{tmp_path / 'readme.db'}"
    out = run(
        SNIPPETS[0],
        tmp_path,
        AUTERITY_AI_POLICY=str(sim_policy_file(tmp_path, simulator_base)),
        AUTERITY_AI_DATABASE_URL=ledger,
        OPENAI_API_KEY="sk-test-not-a-real-key",
    )
    assert out.startswith("True Simulated answer. 0.0000"), out
    rows = Ledger(ledger).execution_usage("run-1001")
    assert [(r["node_id"], r["model_name"], r["status"]) for r in rows] == [
        ("n1", "gpt-4o-mini", "success")
    ]


def test_the_auterity_snippet_wires_every_engine(tmp_path: Path) -> None:
    check = (
        "\nfrom app.config.workflow_config import create_workflow_engine"
        "\nfrom auterity_ai_step import AIStepExecutor"
        "\nassert isinstance(create_workflow_engine().step_factory.get_executor('ai'), "
        "AIStepExecutor)"
        "\nprint('ok')"
    )
    host = ROOT / "tests" / "auterity_host"
    out = run(SNIPPETS[1] + check, tmp_path, PYTHONPATH=os.pathsep.join([str(host), str(ROOT)]))
    assert out.strip() == "ok"
