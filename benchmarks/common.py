"""Shared helpers: statistics, the simulated policy, the simulator as a subprocess."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STEP = {
    "config_version": 2,
    "system": "You are a helpful assistant for {{ dealer }}.",
    "prompt": "A customer, {{ customer }}, asks about the {{ car }}. Draft a short reply.",
    "model": "gpt-4o-mini",
    "fallback_models": ["gpt-4.1-mini"],
    "max_tokens": 100,
    "temperature": 0.4,
    "timeout_s": 30,
}
INPUT = {"dealer": "Riverside Honda", "customer": "Dana", "car": "2024 Civic"}
FAKE_KEY = "benchmark-fake-key-not-a-secret"


@dataclass
class Stat:
    """Repeated measurements of one figure: median and min-max."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def fmt(self, unit: str = "", digits: int = 2) -> str:
        """``1.23 unit (1.10-1.40)``: median and range over the repeats."""
        if not self.values:
            return "n/a"
        lo, hi = min(self.values), max(self.values)
        return f"{self.median:.{digits}f}{unit} ({lo:.{digits}f}-{hi:.{digits}f})"


def stat(values: Sequence[float]) -> Stat:
    return Stat(list(values))


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Stat:
    """Pairwise ratios of repeats measured side by side."""
    return Stat([n / d for n, d in zip(numerators, denominators, strict=True) if d])


def policy_document(base_url: str) -> dict[str, Any]:
    """The bundled policy as a YAML document, every model's api_base at the simulator."""
    data = yaml.safe_load((ROOT / "policies" / "model_policies.yml").read_text("utf-8"))
    for provider, models in data["models"].items():
        for spec in models.values():
            spec["api_base"] = f"{base_url}/v1" if provider == "openai" else base_url
    return data


def write_policy(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (rename), as an operator's deploy would."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    os.replace(tmp, path)


class SimulatorProcess:
    """The loopback simulator in its own process, so it costs this process no CPU."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.simserver", "--latency-ms", str(latency_ms)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("simulator process did not start")
        self.base_url = json.loads(line)["base_url"]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_child(module: str, args: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    """Run ``python -m module`` with JSON args on stdin; its last stdout line is JSON."""
    proc = subprocess.run(
        [PYTHON, "-m", module],
        cwd=ROOT,
        input=json.dumps(args),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
