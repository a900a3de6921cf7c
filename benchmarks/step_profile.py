"""Where a step's CPU goes beyond its model call, across threads: yappi's CPU clock.

cProfile sees the main thread only, and a step's ledger writes run in worker threads. This
profiles N sequential bare ``litellm.acompletion`` calls, then N whole steps (the overhead
benchmark's executor, fresh execution ids), with yappi's CPU clock on every thread, and
prints each area's own time per call and the step's heaviest functions of ours and of the
database layer. Profiling inflates every figure (about 4x): read the differences and
shares. Needs ``pip install yappi`` (not a dependency of the package):

    .venv/bin/python -m benchmarks.step_profile [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from typing import Any

from .common import SimulatorProcess
from .overhead import make_bare, make_step, measure

AREAS = [
    ("auterity_ai_step", "ours"),
    ("litellm", "litellm"),
    ("sqlalchemy", "sqlalchemy"),
    ("asyncio", "asyncio"),
    ("threading", "threads"),
    ("concurrent", "threads"),
    ("pydantic", "pydantic"),
    ("/json/", "json"),
    ("opentelemetry", "opentelemetry"),
    ("httpx", "http stack"),
    ("httpcore", "http stack"),
    ("aiohttp", "http stack"),
    ("openai", "http stack"),
]


def _area(module: str) -> str:
    return next((name for part, name in AREAS if part in module), "other (stdlib etc.)")


async def _profile(n: int, base_url: str, db_dir: str) -> None:
    import litellm
    import yappi

    litellm.suppress_debug_info = True
    _ledger, step = make_step(base_url, db_dir, vary=False)
    bare = make_bare(litellm, base_url, {})
    await measure(step, 100, 1)
    await measure(bare, 100, 1)
    yappi.set_clock_type("cpu")
    areas: dict[str, dict[str, float]] = {}
    heaviest: list[Any] = []
    for name, call in (("bare call", bare), ("step", step)):
        yappi.clear_stats()
        yappi.start(builtins=False)
        await measure(call, n, 1)
        yappi.stop()
        stats = list(yappi.get_func_stats())
        for s in stats:
            areas.setdefault(_area(s.module), {}).setdefault(name, 0.0)
            areas[_area(s.module)][name] += s.tsub * 1e3 / n
        if name == "step":
            ours = [s for s in stats if _area(s.module) in ("ours", "sqlalchemy")]
            heaviest = sorted(ours, key=lambda s: -s.tsub)[:15]
    print("| area | bare call, ms/call | step, ms/step | step minus bare |")
    print("|---|---|---|---|")
    rows = sorted(areas.items(), key=lambda kv: -(kv[1].get("step", 0) - kv[1].get("bare call", 0)))
    for area, by in rows:
        b, s = by.get("bare call", 0.0), by.get("step", 0.0)
        print(f"| {area} | {b:.2f} | {s:.2f} | {s - b:+.2f} |")
    print("\n| function (step) | own µs/step | total µs/step |\n|---|---|---|")
    for s in heaviest:
        where = s.module.split("site-packages/")[-1].split("auterity_ai_step/", 1)[-1]
        print(
            f"| `{where}:{s.lineno} {s.name}` | {s.tsub * 1e6 / n:.0f} | {s.ttot * 1e6 / n:.0f} |"
        )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    sim = SimulatorProcess(0.0)
    try:
        with tempfile.TemporaryDirectory() as db_dir:
            asyncio.run(_profile(n, sim.base_url, db_dir))
    finally:
        sim.close()


if __name__ == "__main__":
    main()
