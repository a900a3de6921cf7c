"""Run code inside a model of the Auterity backend (tests/auterity_host), in a subprocess.

The plugin decides at import whether it runs inside Auterity, so host tests start a fresh
interpreter with the model host first on ``sys.path``; its provider is the loopback
simulator and its ledger a SQLite file the test then reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sim_policy import sim_policy_file

from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "tests" / "auterity_host"


@pytest.fixture(scope="module")
def simulator_base() -> Iterator[str]:
    """A loopback provider where ``broken`` always answers 500 and the rest answer."""
    scenario = Scenario(models={"broken-model": ModelBehaviour(outcomes=(500,))})
    base, stop = Simulator(scenario).run_in_thread()
    try:
        yield base
    finally:
        stop()


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'host-ledger.db'}"


@pytest.fixture
def in_host(tmp_path: Path, simulator_base: str, ledger_url: str) -> Callable[[str], str]:
    """Run a script as the Auterity backend would (host first on sys.path); its stdout."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HOST), str(ROOT)]),
        "AUTERITY_AI_POLICY": str(sim_policy_file(tmp_path, simulator_base)),
        "AUTERITY_AI_DATABASE_URL": ledger_url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key",
    }

    def run(script: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    return run
