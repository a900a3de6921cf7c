"""Child process: CPU per call of a bare ``litellm.acompletion`` and of a whole executor step.

Reads its job as JSON on stdin, prints the result as JSON. One LiteLLM setting per process
(some are read at import or are process-wide), the simulator in another process so that
``time.process_time`` counts only the client.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import itertools
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import FAKE_KEY, INPUT, STEP, policy_document

os.environ["OPENAI_API_KEY"] = FAKE_KEY
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant for Riverside Honda."},
    {"role": "user", "content": "A customer, Dana, asks about the 2024 Civic. Draft a reply."},
]

# Each setting: (environment before import, attributes after import, call changes).
SETTINGS: dict[str, tuple[dict[str, str], dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}, {}),
    "callbacks emptied": (
        {},
        {
            "callbacks": [],
            "success_callback": [],
            "failure_callback": [],
            "_async_success_callback": [],
            "_async_failure_callback": [],
            "input_callback": [],
            "service_callback": [],
        },
        {},
    ),
    "disable_streaming_logging": ({}, {"disable_streaming_logging": True}, {}),
    "turn_off_message_logging": ({}, {"turn_off_message_logging": True}, {}),
    "drop_params": ({}, {"drop_params": True}, {}),
    "logging = False": ({}, {"logging": False}, {}),
    "disable_token_counter": ({}, {"disable_token_counter": True}, {}),
    "disable_end_user_cost_tracking": ({}, {"disable_end_user_cost_tracking": True}, {}),
    "EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER": (
        {"EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER": "True"},
        {},
        {},
    ),
    "bare model + custom_llm_provider": (
        {},
        {},
        {"model": "gpt-4o-mini", "custom_llm_provider": "openai"},
    ),
}


def rss_mb() -> float:
    """Resident set size now, in MiB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def measure(
    call: Callable[[int], Awaitable[None]], n: int, concurrency: int
) -> tuple[float, float]:
    """(CPU ms per call, calls per second of wall time) for ``n`` calls."""
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if concurrency == 1:
        for i in range(n):
            await call(i)
    else:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await call(i)

        await asyncio.gather(*(one(i) for i in range(n)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu * 1000 / n, n / wall


def make_bare(lib: Any, base_url: str, call_kw: dict[str, Any]) -> Callable[[int], Awaitable[None]]:
    """A bare LiteLLM call with the gateway's arguments (retries off, same limits)."""
    kwargs: dict[str, Any] = {
        "model": "openai/gpt-4o-mini",
        "messages": MESSAGES,
        "api_base": f"{base_url}/v1",
        "api_key": FAKE_KEY,
        "timeout": 30,
        "num_retries": 0,
        "max_retries": 0,
        "temperature": 0.4,
        "max_tokens": 100,
        **call_kw,
    }

    async def call(_: int) -> None:
        response = await lib.acompletion(**kwargs)
        assert response.choices[0].message.content

    return call


def make_gateway(base_url: str) -> Callable[[int], Awaitable[None]]:
    """The same call through our gateway (``gateway.complete``): its own overhead."""
    from auterity_ai_step.contract.policy import parse_policy
    from auterity_ai_step.routing import gateway

    model = parse_policy(policy_document(base_url)).models["gpt-4o-mini"]
    request = gateway.CompletionRequest(
        model=model, messages=MESSAGES, temperature=0.4, max_tokens=100, timeout_s=30
    )

    async def call(_: int) -> None:
        result = await gateway.complete(request)
        assert result.content

    return call


def make_step(
    base_url: str, db_dir: str, vary: bool, *, idempotent: bool = True
) -> tuple[Any, Callable[[int], Awaitable[None]]]:
    """An executor over the simulated policy and a fresh SQLite ledger; one step per call.

    ``idempotent=False`` runs the step without its replay claim (the step config's
    ``idempotent: false``), to show what the claim's two ledger transactions cost."""
    from auterity_ai_step import AIStepExecutor, WorkflowNode
    from auterity_ai_step.contract.policy import parse_policy
    from auterity_ai_step.core.engine import Engine
    from auterity_ai_step.core.policy_source import PolicyStore
    from auterity_ai_step.store.ledger import Ledger

    policy = parse_policy(policy_document(base_url))
    ledger = Ledger(f"sqlite:///{db_dir}/ledger.db")
    executor = AIStepExecutor(engine=Engine(PolicyStore.fixed(policy), ledger))
    node = WorkflowNode(id="bench", type="ai", data={**STEP, "idempotent": idempotent})
    failures: list[str] = []
    ids = itertools.count()

    async def call(i: int) -> None:
        data = {**INPUT, "customer": f"Dana {i}"} if vary else INPUT
        # A fresh execution id per call: a step repeated with the same id, node and input is
        # replayed from the ledger (no provider call), which is not what this measures.
        result = await executor.execute_step(node, data, execution_id=f"bench-{next(ids)}")
        if not result.success:
            failures.append(str(result.error_message))
            raise RuntimeError(f"step failed: {result.error_message}")
        if result.output_data.get("ai_replayed"):
            raise RuntimeError("step replayed from the ledger: the benchmark must call the model")

    return ledger, call


def components(base_url: str, db_dir: str, n: int) -> dict[str, float]:
    """CPU microseconds per call of each of our own per-step pieces (no provider call)."""
    from decimal import Decimal

    from auterity_ai_step.contract.policy import parse_policy
    from auterity_ai_step.contract.step import validate_step_config
    from auterity_ai_step.contract.templates import build_messages
    from auterity_ai_step.core.policy_source import PolicyStore
    from auterity_ai_step.core.prices import PRICES
    from auterity_ai_step.money.limits import BudgetGuard, StepAllowance
    from auterity_ai_step.routing import gateway
    from auterity_ai_step.routing.candidates import build_chain
    from auterity_ai_step.routing.health import CircuitBreaker
    from auterity_ai_step.store.ledger import Ledger
    from auterity_ai_step.store.records import UsageRecord

    policy = parse_policy(policy_document(base_url))
    store = PolicyStore.fixed(policy)
    config = validate_step_config(STEP, policy)
    messages = build_messages(config, INPUT)
    model = policy.models["gpt-4o-mini"]
    breaker = CircuitBreaker()
    guard = BudgetGuard(Ledger(f"sqlite:///{db_dir}/components.db"), store)
    record = UsageRecord(
        "x",
        "n",
        "gpt-4o-mini",
        "openai",
        40,
        10,
        Decimal("0.00001"),
        1,
        "success",
        None,
        1,
        False,
        policy.version,
    )

    def money() -> None:
        reservation = guard.reserve_attempt(Decimal("0.0001"), step_allowance=StepAllowance(None))
        guard.settle(reservation, record)

    pieces: dict[str, Callable[[], object]] = {
        "policy_store.current": store.current,
        "validate_step_config": lambda: validate_step_config(STEP, policy),
        "build_messages (Jinja2 sandbox)": lambda: build_messages(config, INPUT),
        "count_tokens (cached)": lambda: gateway.count_tokens(model, messages),
        "build_chain": lambda: build_chain(
            config, policy, prompt_tokens=40, breaker=breaker, prices=PRICES
        ),
        "reserve + settle (SQLite, 2 transactions)": money,
    }
    out = {}
    for name, fn in pieces.items():
        fn()
        reps = max(n // 5, 20) if "SQLite" in name else n
        cpu0 = time.process_time()
        for _ in range(reps):
            fn()
        out[name] = (time.process_time() - cpu0) * 1e6 / reps
    guard.ledger.close()
    return out


def profile_steps(call: Callable[[int], Awaitable[None]], n: int) -> dict[str, Any]:
    """CPU cProfile of ``n`` sequential steps (main thread only: ledger writes run in threads)."""
    prof = cProfile.Profile(time.process_time)

    async def run() -> None:
        for i in range(n):
            await call(i)

    prof.enable()
    asyncio.run(run())
    prof.disable()
    stats = pstats.Stats(prof)
    areas: dict[str, float] = {}
    rows = []
    total = 0.0
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tt
        areas[_area(filename)] = areas.get(_area(filename), 0.0) + tt
        rows.append((tt, ct, nc, f"{_short(filename)}:{line}({func})"))
    rows.sort(reverse=True)
    by_cum = sorted(
        (
            (ct, f"{_short(f)}:{ln}({fn})")
            for (f, ln, fn), (_a, _b, _t, ct, _c) in stats.stats.items()  # type: ignore[attr-defined]
            if "auterity_ai_step" in f
        ),
        reverse=True,
    )
    return {
        "total_ms_per_step": total * 1000 / n,
        "areas": {k: v / total for k, v in sorted(areas.items(), key=lambda kv: -kv[1])},
        "top_tottime": [
            {"tottime_us": tt * 1e6 / n, "cumtime_us": ct * 1e6 / n, "calls": nc / n, "where": w}
            for tt, ct, nc, w in rows[:15]
        ],
        "ours_cumtime": [{"cumtime_us": ct * 1e6 / n, "where": w} for ct, w in by_cum[:12]],
    }


_AREAS = (
    ("auterity_ai_step", "auterity_ai_step (ours)"),
    ("litellm", "litellm"),
    ("openai", "openai SDK"),
    ("pydantic", "pydantic"),
    ("aiohttp", "aiohttp"),
    ("httpx", "httpx/httpcore"),
    ("httpcore", "httpx/httpcore"),
    ("sqlalchemy", "sqlalchemy"),
    ("jinja2", "jinja2"),
    ("jsonschema", "jsonschema"),
    ("tenacity", "tenacity"),
    ("asyncio", "asyncio"),
    ("tiktoken", "tiktoken"),
)


def _area(filename: str) -> str:
    for needle, name in _AREAS:
        if f"/{needle}/" in filename or f"/{needle}." in filename:
            return name
    if filename.startswith("<") or filename == "~":
        return "builtins"
    return "other (stdlib etc.)"


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


async def job(args: dict[str, Any]) -> dict[str, Any]:
    env, attrs, call_kw = SETTINGS[args["setting"]]
    os.environ.update(env)
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    for name, value in attrs.items():
        setattr(litellm, name, value)
    base = args["base_url"]
    n_seq, n_conc, conc, repeats = (
        args["n_seq"],
        args["n_conc"],
        args["concurrency"],
        args["repeats"],
    )
    result: dict[str, Any] = {"setting": args["setting"]}
    bare = make_bare(litellm, base, call_kw)
    with tempfile.TemporaryDirectory() as db_dir:
        step = make_step(base, db_dir, vary=False)[1] if args.get("step") else None
        os.makedirs(f"{db_dir}/unclaimed", exist_ok=True)
        unclaimed = (
            make_step(base, f"{db_dir}/unclaimed", vary=False, idempotent=False)[1]
            if args.get("step")
            else None
        )
        gate = make_gateway(base) if args.get("step") else None
        await measure(bare, 50, conc)  # warm up: connections, caches, tokenizer
        if step is not None and gate is not None and unclaimed is not None:
            await measure(step, 50, conc)
            await measure(unclaimed, 50, conc)
            await measure(gate, 20, 1)
        keys = ["bare_seq_cpu", "bare_conc_cpu", "bare_conc_rate"]
        if step is not None:
            keys += ["gateway_seq_cpu", "step_seq_cpu", "step_conc_cpu", "step_conc_rate"]
            keys += ["unclaimed_seq_cpu"]
        series: dict[str, list[float]] = {k: [] for k in keys}
        for _ in range(repeats):  # interleaved, so drift hits both sides alike
            cpu, _rate = await measure(bare, n_seq, 1)
            series["bare_seq_cpu"].append(cpu)
            cpu, rate = await measure(bare, n_conc, conc)
            series["bare_conc_cpu"].append(cpu)
            series["bare_conc_rate"].append(rate)
            if step is not None and gate is not None and unclaimed is not None:
                cpu, _rate = await measure(unclaimed, n_seq, 1)
                series["unclaimed_seq_cpu"].append(cpu)
                cpu, _rate = await measure(gate, n_seq, 1)
                series["gateway_seq_cpu"].append(cpu)
                cpu, _rate = await measure(step, n_seq, 1)
                series["step_seq_cpu"].append(cpu)
                cpu, rate = await measure(step, n_conc, conc)
                series["step_conc_cpu"].append(cpu)
                series["step_conc_rate"].append(rate)
        result["series"] = series
    return result


def main() -> None:
    args = json.loads(sys.stdin.read())
    kind = args["kind"]
    if kind == "overhead":
        out = asyncio.run(job(args))
    elif kind == "profile":
        with tempfile.TemporaryDirectory() as db_dir:
            _ledger, call = make_step(args["base_url"], db_dir, vary=False)
            asyncio.run(measure(call, 50, 1))
            out = profile_steps(call, args["n"])
            out["components_us"] = components(args["base_url"], db_dir, args["n"])
    elif kind == "memory":
        out = asyncio.run(memory(args))
    else:
        raise SystemExit(f"unknown kind {kind}")
    print(json.dumps(out))


async def memory(args: dict[str, Any]) -> dict[str, Any]:
    """RSS after warm-up, then after each count of steps (distinct prompts, concurrency 50).

    With ``bare``: the same counts of bare ``litellm.acompletion`` calls instead, the
    baseline (a fresh process each, so neither inherits the other's memory)."""
    with tempfile.TemporaryDirectory() as db_dir:
        if args.get("bare"):
            import litellm

            litellm.suppress_debug_info = True
            call = make_bare(litellm, args["base_url"], {})
        else:
            _ledger, call = make_step(args["base_url"], db_dir, vary=True)
        done = 0

        async def steps(n: int) -> None:
            nonlocal done
            offset = done

            async def shifted(i: int) -> None:
                await call(offset + i)

            await measure(shifted, n, 50)
            done += n

        await steps(200)
        gc.collect()
        points = [{"steps": done, "rss_mb": rss_mb()}]
        for target in args["counts"]:
            await steps(target - done)
            gc.collect()
            points.append({"steps": done, "rss_mb": rss_mb()})
        return {"points": points}


if __name__ == "__main__":
    main()
