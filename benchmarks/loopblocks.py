"""Which code blocks the event loop: a watchdog thread samples the loop thread's stack.

A 1 ms ticker on the loop stamps each tick; a watchdog thread checks every millisecond and,
while no tick has landed for longer than ``--threshold-ms``, records the loop thread's
stack (``sys._current_frames``). Each block is then reported with its length, the phase it
fell in and the stack seen most often during it, so a lag figure comes with its cause.
Same run as :mod:`benchmarks.looplag` (fresh process, LiteLLM imported first, 2,000 steps,
policy rewritten halfway), then as many bare ``litellm.acompletion`` calls.

    python -m benchmarks.loopblocks --steps 2000 --threshold-ms 5
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks.common import INPUT, STEP, SimulatorProcess, policy_document, write_policy
from benchmarks.overhead import make_bare

INNER_FRAMES = 8  # innermost frames kept in a reported stack (``--frames``)


class Watchdog:
    """A 1 ms ticker on the loop, and a thread that samples the loop thread's stack while
    the ticker is late by more than a threshold; each late tick keeps its samples."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self.last_tick = time.perf_counter()
        self.phase = "start"
        # (tick started, lag, phase, CPU the loop thread used meanwhile)
        self.late: list[tuple[float, float, str, float]] = []
        self.worst: dict[str, float] = {}  # the worst lag of any tick, by phase
        self.samples: dict[float, collections.Counter[tuple[str, ...]]] = {}
        # (started, ended) of each garbage collection on the loop thread: a collection runs
        # wherever an allocation triggers it, and no Python stack shows it.
        self.collections: list[tuple[float, float]] = []
        self._gc_started = 0.0
        self._stop = threading.Event()
        self._loop_thread = threading.get_ident()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    async def tick(self) -> None:
        while not self._stop.is_set():
            before = self.last_tick = time.perf_counter()
            cpu = time.thread_time()
            phase = self.phase
            await asyncio.sleep(0.001)
            lag = time.perf_counter() - before - 0.001
            cpu = time.thread_time() - cpu
            if lag > self.worst.get(phase, 0.0):
                self.worst[phase] = lag
            if lag > self.threshold_s:
                self.late.append((before, lag, phase, cpu))

    def start(self) -> None:
        gc.callbacks.append(self._collected)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        gc.callbacks.remove(self._collected)

    def _collected(self, phase: str, _info: dict[str, Any]) -> None:
        if threading.get_ident() != self._loop_thread:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.collections.append((self._gc_started, time.perf_counter()))

    def _gc_time(self, start: float, end: float) -> float:
        """Seconds the loop thread spent collecting garbage between ``start`` and ``end``."""
        return sum(max(0.0, min(end, stop) - max(start, began)) for began, stop in self.collections)

    def _watch(self) -> None:
        while not self._stop.is_set():
            time.sleep(0.0005)
            tick = self.last_tick
            if time.perf_counter() - tick > self.threshold_s:
                found = self.samples.setdefault(tick, collections.Counter())
                for stack in self._culprits():
                    found[stack] += 1

    def _culprits(self) -> list[tuple[str, ...]]:
        """The loop thread's stack; when it waits in ``select`` (the GIL is held elsewhere:
        a worker thread inside a C call that keeps it), every other thread's, marked."""
        frames = sys._current_frames()
        frames.pop(threading.get_ident(), None)
        loop = frames.pop(self._loop_thread, None)
        if loop is None:
            return []
        if loop.f_code.co_name != "select":
            return [_stack(loop)]
        names = {t.ident: t.name for t in threading.enumerate()}
        return [
            (f"[loop idle in select; thread {names.get(ident, ident)}]", *_stack(frame))
            for ident, frame in frames.items()
            if frame.f_code.co_name not in ("wait", "_worker", "select", "sleep")
        ] or [_stack(loop)]

    def blocks(self) -> list[dict[str, Any]]:
        """Each late tick: its lag, phase, owner and its most often sampled stacks.

        A tick during which the loop thread ran for less than half the lag, with its own
        stack sampled, was mostly off a core (preempted on a loaded machine) or waiting for
        the GIL: ``descheduled``, whoever's code it was in. Samples taken while the loop
        idled in ``select`` name the thread that held the GIL, and keep that owner. A tick
        that was mostly a garbage collection on the loop thread is the ``garbage
        collector``'s, whatever code allocated when it started."""
        out = []
        for tick, lag, phase, cpu in self.late:
            found = self.samples.get(tick, collections.Counter())
            owners = collections.Counter()
            for stack, count in found.items():
                idle = bool(stack) and stack[0].startswith("[loop idle")
                running = idle or cpu >= lag / 2
                owners[owner(stack) if running else "descheduled"] += count
            collecting = self._gc_time(tick, tick + lag + 0.001)
            main = owners.most_common(1)[0][0] if owners else "unsampled"
            out.append(
                {
                    "ms": lag * 1000,
                    "cpu_ms": cpu * 1000,
                    "gc_ms": collecting * 1000,
                    "phase": phase,
                    "samples": sum(found.values()),
                    "owner": "garbage collector" if collecting >= lag / 2 else main,
                    "stacks": [list(s) for s, _ in found.most_common(2)],
                }
            )
        return out


# Whose code a stack is in: its innermost frame that belongs to one of these.
_OWNERS = (
    ("auterity_ai_step/", "ours"),
    ("benchmarks/", "harness"),
    ("litellm/", "litellm"),
    ("openai/", "litellm"),
    ("httpx/", "litellm"),
    ("aiohttp/", "litellm"),
)


def owner(stack: tuple[str, ...]) -> str:
    """``ours`` when the innermost frame of a known owner is in auterity_ai_step (what it
    calls, SQLAlchemy or YAML, counts as ours), ``litellm`` for LiteLLM and the HTTP stack
    under it, else ``event loop`` (the loop itself, waiting for the GIL or a core). Read
    from the ``[owner: ...]`` line :func:`_stack` put first, found on the whole stack."""
    for line in stack:
        if line.startswith("[owner: "):
            return line.removeprefix("[owner: ").removesuffix("]")
    return _owner_of(stack)


def _owner_of(lines: Any) -> str:
    for line in reversed(list(lines)):
        if "runpy" in line or ("benchmarks/" in line and line.endswith((" <module>", " main"))):
            continue  # the process's entry point, outermost in every stack
        for marker, name in _OWNERS:
            if line.startswith(marker) or f"/{marker}" in line.split(":", 1)[0]:
                return name
    return "event loop"


def _stack(frame: Any) -> tuple[str, ...]:
    """The stack as ``file:line function`` lines, outermost first: every frame of ours
    (what called into the library) and the innermost few (where the time went)."""
    lines = []
    for fs in traceback.extract_stack(frame):
        name = fs.filename
        for marker in ("site-packages/", "lib/python3.11/"):
            name = name.split(marker, 1)[-1]
        ours = "auterity_ai_step/" in name
        if ours:
            name = "auterity_ai_step/" + name.split("auterity_ai_step/", 1)[1]
        lines.append((ours, f"{name}:{fs.lineno} {fs.name}"))
    inner = len(lines) - INNER_FRAMES
    kept = [text for i, (ours, text) in enumerate(lines) if ours or i >= inner]
    return (f"[owner: {_owner_of(text for _, text in lines)}]", *kept)


async def run(n: int, base: str, threshold_s: float, bare: bool) -> dict[str, Any]:
    import litellm

    from auterity_ai_step import AIStepExecutor, WorkflowNode
    from auterity_ai_step.core.engine import Engine
    from auterity_ai_step.core.policy_source import PolicyStore
    from auterity_ai_step.routing import gateway
    from auterity_ai_step.store.ledger import Ledger

    await gateway.preload()
    sys.setswitchinterval(0.001)  # let the watchdog thread take the GIL within a millisecond
    dog = Watchdog(threshold_s)
    ticker = asyncio.create_task(dog.tick())
    dog.start()
    await asyncio.sleep(0.01)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yml"
        doc = policy_document(base)
        write_policy(path, doc)
        dog.phase = "executor start"
        store = PolicyStore(path, check_interval_s=0.05)
        ledger = Ledger(f"sqlite:///{tmp}/ledger.db")
        executor = AIStepExecutor(engine=Engine(store, ledger))
        node = WorkflowNode(id="lag", type="ai", data=STEP)
        changed = {**doc, "retry": {**doc["retry"], "step_time_budget_s": 59.0}}
        for i in range(n):
            dog.phase = "first step" if i == 0 else "steady"
            if i == n // 2:  # the operator's deploy: not on this loop
                await asyncio.to_thread(write_policy, path, changed)
                await asyncio.sleep(0.06)
            if n // 2 <= i < n // 2 + 5:
                dog.phase = "policy reload"
            result = await executor.execute_step(node, {**INPUT, "customer": f"Dana {i}"})
            assert result.success, result.error_message
        dog.phase = "shutdown"
        await asyncio.to_thread(ledger.close)  # as a host shuts down: off the loop
        if bare:
            call = make_bare(litellm, base, {})
            dog.phase = "bare calls"
            for i in range(n):
                await call(i)
    await asyncio.sleep(0.01)
    dog.stop()
    ticker.cancel()
    return {"blocks": dog.blocks()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threshold-ms", type=float, default=5.0)
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-call baseline")
    parser.add_argument("--json", action="store_true", help="print the blocks as JSON")
    parser.add_argument("--frames", type=int, default=8, help="innermost frames shown")
    parser.add_argument("--show", type=int, default=12, help="how many blocks to print")
    ns = parser.parse_args(argv)
    global INNER_FRAMES
    INNER_FRAMES = ns.frames
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sim = SimulatorProcess()
    try:
        load = os.getloadavg()[0]
        out = asyncio.run(run(ns.steps, sim.base_url, ns.threshold_ms / 1000, not ns.no_bare))
    finally:
        sim.close()
    if ns.json:
        print(json.dumps(out))
        return 0
    blocks = sorted(out["blocks"], key=lambda b: -b["ms"])
    print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}; blocks over {ns.threshold_ms} ms")
    print("\nworst block by owner (count of blocks over the threshold):")
    owners = ("ours", "litellm", "event loop", "garbage collector", "descheduled", "unsampled")
    for name in (*owners, "harness"):
        mine = [b for b in blocks if b["owner"] == name]
        if mine:
            print(f"  {name}: {mine[0]['ms']:.1f} ms in {mine[0]['phase']} ({len(mine)} blocks)")
    for block in blocks[: ns.show]:
        print(
            f"\n{block['ms']:.1f} ms in {block['phase']}, {block['owner']} "
            f"({block['samples']} samples, loop thread CPU {block['cpu_ms']:.1f} ms, "
            f"garbage collection {block['gc_ms']:.1f} ms)"
        )
        for line in block["stacks"][0] if block["stacks"] else ():
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
