"""The overhead benchmark measures steps that call the model, never replays.

A step repeated with the same execution id, node and input is answered from the ledger
without a model call (``core/replay.py``). The benchmark's CPU-per-step rows once measured
mostly such replays (0.5x a bare call); its steps now get fresh execution ids, and a
replayed step fails the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from benchmarks.overhead import make_step


@pytest.mark.parametrize("idempotent", [True, False])
async def test_every_measured_step_reaches_the_model(tmp_path: Path, idempotent: bool) -> None:
    async with Simulator(Scenario(default=ModelBehaviour(), seed=0)) as sim:
        _ledger, step = make_step(sim.base_url, str(tmp_path), vary=False, idempotent=idempotent)
        for i in (0, 1, 0, 1):  # the same inputs again, as the benchmark's repeats run them
            await step(i)
        assert len([r for r in sim.requests if r.path.endswith("/chat/completions")]) == 4
