"""What the OpenTelemetry hooks cost a step: off, on with a no-op exporter, on in memory.

    .venv/bin/python -m benchmarks.telemetry [--quick]

CPU (``time.process_time``) per ``AIStepExecutor.execute_step`` against the loopback
simulator (in its own process), in four modes bound in the same process and interleaved
round by round, each ratio against the muted baseline of the same round:

- ``muted``: ``telemetry.muted()``, the hooks return at once (the baseline);
- ``no SDK``: the default, the API's no-op providers (what a host without OpenTelemetry gets);
- ``SDK, no-op exporter``: the SDK's tracer provider with a span processor whose exporter
  drops spans, and the SDK's meter provider aggregating every instrument;
- ``SDK, in-memory``: the SDK's ``InMemorySpanExporter`` and ``InMemoryMetricReader``.

A second table times the hooks alone (a step span and one attempt span, ended with an
attempt), microseconds per step, so the no-SDK figure is not lost in a whole step's noise.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from benchmarks.common import FAKE_KEY, INPUT, STEP, SimulatorProcess, Stat, policy_document

os.environ["OPENAI_API_KEY"] = FAKE_KEY
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class _DropSpans:
    """A span exporter that keeps nothing (the SDK's full path, no I/O)."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class Mode:
    name: str
    bind: Callable[[], None]
    scope: Callable[[], AbstractContextManager[Any]]
    clear: Callable[[], None] = lambda: None


def modes() -> list[Mode]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from auterity_ai_step import telemetry

    drop = TracerProvider()
    drop.add_span_processor(SimpleSpanProcessor(_DropSpans()))  # type: ignore[arg-type]
    drop_meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    kept = InMemorySpanExporter()
    memory = TracerProvider()
    memory.add_span_processor(SimpleSpanProcessor(kept))
    reader = InMemoryMetricReader()
    memory_meters = MeterProvider(metric_readers=[reader])
    return [
        Mode("muted (baseline)", telemetry.reset, telemetry.muted),
        Mode("no SDK (API no-op, the default)", telemetry.reset, nullcontext),
        Mode(
            "SDK, no-op span exporter",
            lambda: telemetry.instrument(tracer_provider=drop, meter_provider=drop_meters),
            nullcontext,
        ),
        Mode(
            "SDK, in-memory exporter and reader",
            lambda: telemetry.instrument(tracer_provider=memory, meter_provider=memory_meters),
            nullcontext,
            clear=lambda: (kept.clear(), reader.get_metrics_data()),
        ),
    ]


def step_runner(base_url: str, db_dir: str) -> Callable[[str], Any]:
    from auterity_ai_step import AIStepExecutor, WorkflowNode
    from auterity_ai_step.contract.policy import parse_policy
    from auterity_ai_step.core.engine import Engine
    from auterity_ai_step.core.policy_source import PolicyStore
    from auterity_ai_step.store.ledger import Ledger

    policy = parse_policy(policy_document(base_url))
    ledger = Ledger(f"sqlite:///{db_dir}/ledger.db")
    executor = AIStepExecutor(engine=Engine(PolicyStore.fixed(policy), ledger))
    node = WorkflowNode(id="bench", type="ai", data=STEP)

    async def run(execution_id: str) -> None:
        result = await executor.execute_step(node, dict(INPUT), execution_id=execution_id)
        if not result.success:
            raise RuntimeError(f"step failed: {result.error_message}")

    return run


@dataclass
class _Attempt:
    model_name: str = "gpt-4o-mini"
    provider: str = "openai"
    status: str = "success"
    error_type: str | None = None
    latency_ms: int = 12
    prompt_tokens: int = 40
    completion_tokens: int = 60
    cost: Decimal = Decimal("0.000042")
    is_fallback: bool = False


@dataclass
class _Outcome:
    success: bool = True
    error_type: str | None = None
    cost: Decimal = Decimal("0.000042")
    attempts: tuple[_Attempt, ...] = (_Attempt(),)


def hooks_alone(n: int) -> float:
    """CPU microseconds for the hooks of one one-attempt step, without the step."""
    from auterity_ai_step import telemetry

    attempt, outcome = _Attempt(), _Outcome()
    messages = [{"role": "user", "content": "Hello"}]
    gc.collect()
    cpu0 = time.process_time()
    for i in range(n):
        with telemetry.step_span(f"e-{i}", "node") as step:
            telemetry.note_candidates(["gpt-4o-mini", "gpt-4.1-mini"])
            with telemetry.attempt_span(
                "gpt-4o-mini",
                "openai",
                1,
                is_fallback=False,
                max_tokens=100,
                temperature=0.4,
                messages=messages,
            ) as traced:
                telemetry.note_response("gpt-4o-mini", "stop", "Hi")
                traced.end(attempt)
            step.end(outcome)
    return (time.process_time() - cpu0) / n * 1e6


@contextmanager
def bound(mode: Mode) -> Iterator[None]:
    mode.bind()
    with mode.scope():
        yield
    mode.clear()


async def main_async(rounds: int, steps: int, hook_calls: int) -> str:
    sim = SimulatorProcess()
    every = modes()
    cpu: dict[str, Stat] = {m.name: Stat() for m in every}
    ratio: dict[str, Stat] = {m.name: Stat() for m in every}
    hooks: dict[str, Stat] = {m.name: Stat() for m in every}
    try:
        with tempfile.TemporaryDirectory() as db_dir:
            run = step_runner(sim.base_url, db_dir)
            for warm in range(30):
                await run(f"warm-{warm}")
            for r in range(rounds):
                base = 0.0
                for mode in every:
                    with bound(mode):
                        gc.collect()
                        cpu0 = time.process_time()
                        for i in range(steps):
                            await run(f"{r}-{mode.name}-{i}")
                        per_step = (time.process_time() - cpu0) / steps * 1000
                        hooks[mode.name].add(hooks_alone(hook_calls))
                    cpu[mode.name].add(per_step)
                    if mode is every[0]:
                        base = per_step
                    ratio[mode.name].add(per_step / base)
    finally:
        sim.close()
        from auterity_ai_step import telemetry

        telemetry.reset()
    lines = [
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {rounds} rounds of {steps} "
        f"sequential steps per mode, interleaved; hooks alone x {hook_calls}. Median (min-max).",
        "",
        "| mode | CPU per step | vs muted, same round | hooks alone, per step |",
        "|---|---|---|---|",
    ]
    for mode in every:
        lines.append(
            f"| {mode.name} | {cpu[mode.name].fmt(' ms')} | {ratio[mode.name].fmt('x', 3)} "
            f"| {hooks[mode.name].fmt(' µs', 1)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and steps")
    args = parser.parse_args()
    rounds, steps, hook_calls = (3, 100, 2000) if args.quick else (5, 300, 20000)
    print(asyncio.run(main_async(rounds, steps, hook_calls)))


if __name__ == "__main__":
    main()
