"""Cold start: subprocess wall and CPU time of CLI commands against ``python -c pass``.

The commands run with their bytecode cached, as from an installed wheel (pip compiles it):
with ``PYTHONDONTWRITEBYTECODE`` set, as on the team's machines, an editable checkout would
otherwise compile every module of ours from source on every start. The cache goes to a
``PYTHONPYCACHEPREFIX`` beside the policy (the caller's temporary directory), filled by the
first round, which is not counted. CPU time (user + system, from the children's rusage) is
beside the wall time: on a shared machine it is the steadier of the two.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import FAKE_KEY, ROOT, Stat

EXAMPLES = ROOT / "auterity_ai_step" / "examples"
# Prints which heavy libraries got imported, whatever way the command exits.
HEAVY = ("litellm", "aiohttp.web", "sqlalchemy")
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'\\nIMPORTED=%s\\n' % ','.join(m for m in " + repr(HEAVY) + " if m in sys.modules)))\n"
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


def _env(policy: Path) -> dict[str, str]:
    """No ledger for the contract commands to read (``run`` is given its own ``--db``);
    bytecode cached in a prefix of its own, as an installed package has it."""
    env = {
        **os.environ,
        "AUTERITY_AI_DATABASE_URL": f"sqlite:///{policy.parent / 'no-ledger.db'}",
        "AUTERITY_AI_POLICY": str(policy),
        "OPENAI_API_KEY": FAKE_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PYTHONPYCACHEPREFIX": str(policy.parent / "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(
    policy: Path, db_url: str, repeats: int
) -> tuple[dict[str, Stat], dict[str, Stat], dict[str, list[str]]]:
    """Wall seconds and CPU seconds per command; and which heavy libraries each imported."""
    env = _env(policy)
    out = {name: Stat() for name in commands(policy, db_url)}
    cpu = {name: Stat() for name in commands(policy, db_url)}
    imported: dict[str, list[str]] = {}
    for _ in range(repeats + 1):  # the first round fills the caches; not counted
        first = not out["python -c pass"].values and not imported
        for name, argv in commands(policy, db_url).items():
            before = _children_cpu()
            started = time.perf_counter()
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            used = _children_cpu() - before
            if proc.returncode != 0:
                raise RuntimeError(f"{name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
            if name != "python -c pass":
                imported[name] = _imported(proc.stderr)
            if not first:
                out[name].add(elapsed)
                cpu[name].add(used)
    return out, cpu, imported


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _imported(stderr: str) -> list[str]:
    line = next(ln for ln in reversed(stderr.splitlines()) if ln.startswith("IMPORTED="))
    return [m for m in line.removeprefix("IMPORTED=").split(",") if m]


def import_profile(policy: Path, command: str, top: int = 8) -> list[tuple[str, float]]:
    """``python -X importtime``: a command's top-level imports, cumulative ms, largest first."""
    argv = commands(policy, "sqlite://")[command]
    proc = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        env=_env(policy),
        capture_output=True,
        text=True,
        check=False,
    )
    rows: list[tuple[str, float]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if name.startswith("  "):
            continue  # imported by another module: counted in its parent's cumulative
        rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:top]
