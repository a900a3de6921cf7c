"""Where a step's CPU goes beyond its model call: one cProfile of steps minus one of calls.

Profiles N sequential bare ``litellm.acompletion`` calls, then N whole steps (the overhead
benchmark's executor, fresh execution ids), each with cProfile on the CPU clock, and prints
the functions whose own time grew most per call, then our functions by cumulative time. On
a SQLite ledger the step's writes run on the event loop (quick writes), so the main thread
holds the whole step. Profiling inflates every figure (about 3x): read the differences.

    .venv/bin/python -m benchmarks.step_diff [N]
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .common import SimulatorProcess
from .overhead import _short, make_bare, make_step, measure


def _profile(call: Callable[[int], Awaitable[None]], n: int) -> dict[tuple[str, int, str], Any]:
    profiler = cProfile.Profile(time.process_time)

    async def run() -> None:
        for i in range(n):
            await call(i)

    profiler.enable()
    asyncio.run(run())
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return {
        (_short(f), line, fn): (tt, ct, nc) for (f, line, fn), (_c, nc, tt, ct, _) in stats.items()
    }


def main(n: int) -> None:
    import litellm

    litellm.suppress_debug_info = True
    sim = SimulatorProcess()
    try:
        with tempfile.TemporaryDirectory() as db_dir:
            bare = make_bare(litellm, sim.base_url, {})
            ledger, step = make_step(sim.base_url, db_dir, vary=False)

            async def warm() -> None:
                await measure(bare, 50, 1)
                await measure(step, 50, 1)

            asyncio.run(warm())
            calls, steps = _profile(bare, n), _profile(step, n)
            ledger.close()
    finally:
        sim.close()
    total_calls = sum(v[0] for v in calls.values()) / n * 1e3
    total_steps = sum(v[0] for v in steps.values()) / n * 1e3
    print(f"profiled CPU per call: bare {total_calls:.2f} ms, step {total_steps:.2f} ms")
    grown = sorted(
        (
            ((steps.get(k, (0, 0, 0))[0] - calls.get(k, (0, 0, 0))[0]) / n * 1e6, k)
            for k in set(calls) | set(steps)
        ),
        reverse=True,
    )
    print("\nown time grown, µs per step (calls per step), function:")
    for diff, key in grown[:40]:
        per = steps.get(key, (0, 0, 0))[2] / n
        print(f"{diff:8.1f}  {per:7.1f}x  {key[0]}:{key[1]}({key[2]})")
    print("\nours by cumulative time, µs per step:")
    ours = sorted(
        ((v[1] / n * 1e6, k) for k, v in steps.items() if k[0].startswith("auterity_ai_step")),
        reverse=True,
    )
    for cum, key in ours[:30]:
        print(f"{cum:8.1f}  {key[0]}:{key[1]}({key[2]})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
