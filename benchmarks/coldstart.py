"""Cold start: subprocess wall time of CLI commands against ``python -c pass``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import FAKE_KEY, ROOT, Stat

EXAMPLES = ROOT / "auterity_ai_step" / "examples"
# Prints whether LiteLLM got imported, whatever way the command exits.
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'\\nLITELLM_IMPORTED=%s\\n' % ('litellm' in sys.modules)))\n"
    "from auterity_ai_step.cli import main\n"
    "sys.argv = ['auterity-ai-step', *sys.argv[1:]]\n"
    "main()\n"
)


def commands(policy: Path, db_url: str) -> dict[str, list[str]]:
    step = str(EXAMPLES / "customer_inquiry.step.yml")
    data = str(EXAMPLES / "customer_inquiry.input.json")
    py = sys.executable
    return {
        "python -c pass": [py, "-c", "pass"],
        "validate": [py, "-c", PROBE, "validate", step, "--policy", str(policy)],
        "schema": [py, "-c", PROBE, "schema", "--policy", str(policy)],
        "run": [py, "-c", PROBE, "run", step, "--input", data, "--db", db_url],
    }


def measure(policy: Path, db_url: str, repeats: int) -> tuple[dict[str, Stat], dict[str, bool]]:
    """Median wall seconds per command; and whether each imported LiteLLM."""
    env = {
        **os.environ,
        "AUTERITY_AI_POLICY": str(policy),
        "OPENAI_API_KEY": FAKE_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    out = {name: Stat() for name in commands(policy, db_url)}
    imported: dict[str, bool] = {}
    for _ in range(repeats + 1):  # the first round warms the OS file cache; not counted
        first = not out["python -c pass"].values and not imported
        for name, argv in commands(policy, db_url).items():
            started = time.perf_counter()
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                raise RuntimeError(f"{name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
            if name != "python -c pass":
                imported[name] = "LITELLM_IMPORTED=True" in proc.stderr
            if not first:
                out[name].add(elapsed)
    return out, imported
