"""Run the benchmarks and print one markdown report (also written to benchmarks/results/).

    .venv/bin/python -m benchmarks.run [--quick] [--only NAME]

NAME is one of: overhead, settings, profile, fallback, looplag, switch, health, budget,
coldstart, memory, whatif. Every figure is a median with its min-max over repeats, beside a
baseline measured in the same run. ``--quick`` uses smaller counts (under 3 minutes); the
full run writes the committed snapshot ``benchmarks/RESULTS.md`` too.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, SimulatorProcess, Stat, ratios, run_child, stat

HERE = Path(__file__).resolve().parent
NAMES = (
    "overhead",
    "settings",
    "profile",
    "fallback",
    "looplag",
    "switch",
    "health",
    "budget",
    "coldstart",
    "memory",
    "whatif",
)
QUICK_SETTINGS = ("default", "EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER")


class Report:
    """Collects the summary table rows and the detail sections."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.sections: list[str] = []

    def row(self, figure: str, measured: str, baseline: str, ratio: str, target: str = "") -> None:
        self.rows.append((figure, measured, baseline, ratio, target))

    def section(self, title: str, body: str) -> None:
        self.sections.append(f"### {title}\n\n{body.strip()}\n")

    def markdown(self, header: str) -> str:
        lines = [
            header,
            "",
            "| figure | measured: median (min-max) | baseline, same run | ratio | target |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {' | '.join(r)} |" for r in self.rows]
        return "\n".join(lines) + "\n\n" + "\n".join(self.sections)


def _x(s: Stat) -> str:
    return s.fmt("x")


# -- 1. step overhead ------------------------------------------------------------------


HANDLER = "EXPERIMENTAL_OPENAI_BASE_LLM_HTTP_HANDLER"


def overhead(report: Report, quick: bool, base_url: str) -> None:
    """Step CPU against bare calls, with LiteLLM's default HTTP handler and the opt-in one."""
    for setting in ("default", HANDLER):
        _overhead(report, quick, base_url, setting)


def _overhead(report: Report, quick: bool, base_url: str, setting: str) -> None:
    args = {
        "kind": "overhead",
        "setting": setting,
        "base_url": base_url,
        "n_seq": 100 if quick else 300,
        "n_conc": 200 if quick else 600,
        "concurrency": 50,
        "repeats": 3 if quick else 5,
        "step": True,
    }
    s = run_child("benchmarks.overhead", args)["series"]
    seq, conc = stat(s["step_seq_cpu"]), stat(s["step_conc_cpu"])
    bseq, bconc = stat(s["bare_seq_cpu"]), stat(s["bare_conc_cpu"])
    target = "<= 1.10x"
    if setting != "default":
        # The opt-in handler in both: step and bare call alike run with it.
        report.row(
            f"1. CPU per step, sequential, `{setting}=True` (opt-in)",
            seq.fmt(" ms"),
            f"bare call, same handler {bseq.fmt(' ms')}",
            _x(ratios(s["step_seq_cpu"], s["bare_seq_cpu"])),
            "step below a bare default call",
        )
        report.row(
            f"1. CPU per step, concurrency 50, `{setting}=True` (opt-in)",
            conc.fmt(" ms"),
            f"bare call, same handler {bconc.fmt(' ms')}",
            _x(ratios(s["step_conc_cpu"], s["bare_conc_cpu"])),
            "step below a bare default call",
        )
        return
    report.row(
        "1. CPU per step, sequential",
        seq.fmt(" ms"),
        f"bare `litellm.acompletion` {bseq.fmt(' ms')}",
        _x(ratios(s["step_seq_cpu"], s["bare_seq_cpu"])),
        target,
    )
    report.row(
        "1. CPU per step, concurrency 50",
        conc.fmt(" ms"),
        f"bare `litellm.acompletion` {bconc.fmt(' ms')}",
        _x(ratios(s["step_conc_cpu"], s["bare_conc_cpu"])),
        target,
    )
    report.row(
        "1. steps per second, concurrency 50",
        stat(s["step_conc_rate"]).fmt("/s", 0),
        f"bare calls {stat(s['bare_conc_rate']).fmt('/s', 0)}",
        _x(ratios(s["step_conc_rate"], s["bare_conc_rate"])),
        ">= 0.90x (with 50 ms server delay)",
    )
    report.row(
        "1. CPU per step without its replay claim (`idempotent: false`), sequential",
        stat(s["unclaimed_seq_cpu"]).fmt(" ms"),
        f"bare `litellm.acompletion` {bseq.fmt(' ms')}",
        _x(ratios(s["unclaimed_seq_cpu"], s["bare_seq_cpu"])),
        "",
    )
    report.row(
        "1. CPU per call through `gateway.complete`",
        stat(s["gateway_seq_cpu"]).fmt(" ms"),
        f"bare `litellm.acompletion` {bseq.fmt(' ms')}",
        _x(ratios(s["gateway_seq_cpu"], s["bare_seq_cpu"])),
        "",
    )


def settings(report: Report, quick: bool, base_url: str) -> None:
    from benchmarks.overhead import SETTINGS

    names = QUICK_SETTINGS if quick else tuple(SETTINGS)
    results: dict[str, dict[str, list[float]]] = {}
    for name in names:
        args = {
            "kind": "overhead",
            "setting": name,
            "base_url": base_url,
            "n_seq": 100 if quick else 200,
            "n_conc": 200 if quick else 400,
            "concurrency": 50,
            "repeats": 3,
            "step": False,
        }
        results[name] = run_child("benchmarks.overhead", args)["series"]
    base_seq = stat(results["default"]["bare_seq_cpu"]).median
    base_conc = stat(results["default"]["bare_conc_cpu"]).median
    lines = [
        "Bare `litellm.acompletion` CPU per call, each setting in a fresh process "
        "(ratios against the `default` process of this run; < 1 is cheaper).",
        "",
        "| setting | sequential ms/call | vs default | concurrency 50 ms/call | vs default |",
        "|---|---|---|---|---|",
    ]
    for name, s in results.items():
        seq, conc = stat(s["bare_seq_cpu"]), stat(s["bare_conc_cpu"])
        lines.append(
            f"| {name} | {seq.fmt()} | {seq.median / base_seq:.2f}x | {conc.fmt()} | "
            f"{conc.median / base_conc:.2f}x |"
        )
    report.section("LiteLLM settings (bare call CPU)", "\n".join(lines))


def profile(report: Report, quick: bool, base_url: str) -> None:
    out = run_child(
        "benchmarks.overhead", {"kind": "profile", "base_url": base_url, "n": 100 if quick else 300}
    )
    lines = [
        "CPU profile (cProfile with `time.process_time`, main thread) of sequential steps. "
        "Profiling inflates every figure; read the shares, not the totals. On the SQLite "
        "ledger used here the engine writes inline, so ledger CPU is in the profile; on "
        "PostgreSQL writes run in worker threads and would not be.",
        "",
        "| area | share of CPU |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v * 100:.1f}% |" for k, v in out["areas"].items()]
    lines += ["", "| top functions by own time | µs/step | cumulative µs/step |", "|---|---|---|"]
    lines += [
        f"| `{r['where']}` | {r['tottime_us']:.0f} | {r['cumtime_us']:.0f} |"
        for r in out["top_tottime"][:12]
    ]
    lines += [
        "",
        "Our own pieces, timed alone (CPU µs per call, no provider call):",
        "",
        "| piece | CPU µs/call |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.1f} |" for k, v in out["components_us"].items()]
    report.section("Where a step's time goes", "\n".join(lines))


# -- 2-4: wall-clock figures in-process -------------------------------------------------


def fallback(report: Report, quick: bool) -> None:
    from benchmarks import realtime

    r = realtime.fallback(3 if quick else 5, 3 if quick else 6)
    ok = r["ok_step"]
    for case, label in (("500", "a 500"), ("503", "a 503"), ("refused", "a refused connection")):
        report.row(
            f"2. fallback request arrival after {label} (server clock, from step start)",
            r[case].fmt(" ms"),
            f"whole OK step {ok.fmt(' ms')}",
            _x(ratios(r[case].values, ok.values)),
            "<= 50 ms",
        )
    report.row(
        "2. whole step with the primary's circuit open (extra over an OK step)",
        f"{r['open_step'].fmt(' ms')}; extra {r['open_extra'].fmt(' ms')}",
        f"whole OK step {ok.fmt(' ms')}",
        _x(ratios(r["open_step"].values, ok.values)),
        "extra <= 1 ms",
    )
    calls = r["primary_calls"].median
    report.section(
        "Fallback notes",
        "Real time, nothing skipped: the engine sleeps with `asyncio.sleep` and the policy's "
        "default `retry` and `circuit` settings; the simulator stamps each request's arrival "
        "(same process, same clock). A fresh circuit breaker per sample, so the primary's "
        f"circuit starts closed. The primary was called {calls:g} time(s) per failing step "
        "(median) before the fallback's request.",
    )


def looplag(report: Report, quick: bool, base_url: str) -> None:
    n = 500 if quick else 2000
    out = run_child("benchmarks.looplag", {"n": n, "base_url": base_url})
    bare = run_child("benchmarks.looplag", {"n": n, "base_url": base_url, "bare": True})
    steps_worst, bare_worst = max(out["phases_ms"].values()), max(bare["phases_ms"].values())
    report.row(
        f"8. event-loop lag: worst 1 ms ticker delay over {n} steps (any cause)",
        f"{steps_worst:.2f} ms",
        f"{n} bare calls {bare_worst:.2f} ms",
        f"{steps_worst / bare_worst:.2f}x",
        "",
    )
    ours = out["owners_ms"].get("ours")
    report.row(
        f"8. longest event-loop block by our code over {n} steps (first step and a policy "
        "reload included)",
        f"{ours:.2f} ms" if ours else "none over 5 ms",
        f"LiteLLM's longest, bare calls {bare['owners_ms'].get('litellm', 0.0):.2f} ms",
        "",
        "<= 5 ms",
    )
    lines = [
        f"A 1 ms ticker's worst delay by phase, {n} sequential steps in a fresh process "
        "(LiteLLM imported first, in a thread, as at start-up), the policy file rewritten "
        f"halfway by a worker thread (reload seen: {out['reloaded']}); then {n} bare calls "
        "in a fresh process of their own. A watchdog thread samples the loop thread's stack "
        "while a tick is over 5 ms late (`benchmarks/loopblocks.py`) and puts each late "
        "tick down to the innermost owner on the stack: ours (our code and what it calls), "
        "LiteLLM (LiteLLM and the HTTP stack under it), the event loop itself; a tick during "
        "which the loop thread ran for less than half the delay is `descheduled` (off a "
        "core on a loaded machine, or waiting for the GIL), whoever's code it was in; a "
        "tick spent mostly in a garbage collection on the loop thread is the `garbage "
        "collector`'s (it runs wherever an allocation triggers it); `unsampled` ticks got "
        "no sample.",
        "",
        "| phase | worst delay, steps | worst delay, bare calls |",
        "|---|---|---|",
    ]
    for phase in dict.fromkeys([*out["phases_ms"], *bare["phases_ms"]]):
        mine, theirs = out["phases_ms"].get(phase), bare["phases_ms"].get(phase)
        lines.append(f"| {phase} | {_ms(mine)} | {_ms(theirs)} |")
    lines += ["", "| owner of a tick over 5 ms late | steps: longest (count) | bare calls |"]
    lines.append("|---|---|---|")
    for owner in ("ours", "litellm", "event loop", "garbage collector", "descheduled", "unsampled"):
        lines.append(
            f"| {owner} | {_ms(out['owners_ms'].get(owner))} "
            f"({out['counts'].get(owner, 0)}) | {_ms(bare['owners_ms'].get(owner))} "
            f"({bare['counts'].get(owner, 0)}) |"
        )
    for block in out["ours"]:
        tail = " < ".join(reversed(block["stacks"][0][-4:])) if block["stacks"] else ""
        lines.append(
            f"\nOurs, {block['ms']:.1f} ms in {block['phase']} (loop thread CPU "
            f"{block['cpu_ms']:.1f} ms): `{tail}`"
        )
    report.section("Event-loop lag", "\n".join(lines))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def switch(report: Report, quick: bool) -> None:
    from benchmarks import latency

    r = latency.model_switch(3 if quick else 5, 4 if quick else 6)
    step = r["step"]
    for key, label in (
        ("file", "3. model switch: policy file write -> first step on the new model"),
        ("file_fast", "3. same, `PolicyStore(check_interval_s=0.05)`"),
        ("db", "3. model switch: `model_configurations` update -> first step"),
    ):
        report.row(
            label,
            r[key].fmt(" ms", 0),
            f"whole step {step.fmt(' ms')}",
            _x(ratios(r[key].values, step.values)),
            "< 100 ms",
        )
    report.section(
        "Model switch notes",
        "Steps run back to back; each change is written right after the store last looked, "
        "so the figure is the worst case: the store's check interval (default 0.05 s) plus "
        "one step. A change landing at a random moment waits half the interval on average.",
    )


def health(report: Report, quick: bool) -> None:
    from benchmarks import latency

    r = latency.health(2 if quick else 5)
    report.row(
        "4. health check, 12 models (3 hang, 2 refuse)",
        r["faulty"].fmt(" s"),
        f"12 healthy models {r['healthy'].fmt(' s', 3)}",
        _x(ratios(r["faulty"].values, r["healthy"].values)),
        "< 5 s",
    )


# -- 5. budget --------------------------------------------------------------------------


def budget(report: Report, quick: bool) -> None:
    from benchmarks import budget as bench

    sys.path.insert(0, str(ROOT / "tests"))
    tmp = Path(tempfile.mkdtemp(prefix="auterity-bench-"))
    urls: dict[str, Callable[[int], str]] = {"SQLite": lambda r: f"sqlite:///{tmp}/budget-{r}.db"}
    server: Any = None
    try:
        from pg_server import PostgresServer

        server = PostgresServer()
        server.start()
        pg = server
        urls["PostgreSQL"] = lambda r: pg.create_database(f"bench_{os.getpid()}_{r}")
    except Exception as exc:  # no PostgreSQL here: report it and carry on
        report.section("PostgreSQL", f"Not measured: {type(exc).__name__}: {exc}")
    workers = (1, 8) if quick else (1, 2, 4, 8)
    try:
        r = bench.run(
            urls,
            repeats=2 if quick else 3,
            n_single=100 if quick else 300,
            n_each=30 if quick else 100,
            workers=workers,
        )
    finally:
        if server is not None:
            server.close()
    for backend in urls:
        bare = r[f"{backend}:bare"]
        for n in workers:
            got = r[f"{backend}:{n}"]
            report.row(
                f"5. budget reservations/s (reserve + settle), {backend}, {n} process(es)",
                got.fmt("/s", 0),
                f"bare 1-row commits {bare.fmt('/s', 0)}",
                _x(ratios(got.values, bare.values)),
                "8 processes >= 4x 1 process; never overspent (tests)"
                if n == 8
                else "never overspent (tests)",
            )


# -- 6. cold start ----------------------------------------------------------------------


def coldstart(report: Report, quick: bool) -> None:
    from auterity_ai_step.simulator.server import Scenario, Simulator
    from benchmarks import coldstart as cold
    from benchmarks.common import policy_document, write_policy

    sim = Simulator(Scenario(seed=0))
    base_url, stop = sim.run_in_thread()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            policy = Path(tmp) / "policy.yml"
            write_policy(policy, policy_document(base_url))
            times, cpu, imported = cold.measure(
                policy, f"sqlite:///{tmp}/cold.db", 3 if quick else 7
            )
            profiles = {name: cold.import_profile(policy, name) for name in ("validate", "schema")}
    finally:
        stop()
    base = times["python -c pass"]
    for name in ("validate", "schema", "run"):
        note = "imports " + ", ".join(imported[name]) if imported[name] else "no heavy import"
        report.row(
            f"6. cold start `auterity-ai-step {name}` ({note}); wall, then CPU",
            f"{times[name].fmt(' s')}; CPU {cpu[name].fmt(' s')}",
            f"`python -c pass` {base.fmt(' s', 3)}",
            _x(ratios(times[name].values, base.values)),
            "<= 0.3 s; no LiteLLM, aiohttp.web, SQLAlchemy" if name != "run" else "",
        )
    lines = [
        "`python -X importtime`, one run: the top-level imports by cumulative time "
        f"(heavy libraries watched: {', '.join(cold.HEAVY)}).",
        "",
        "| command | import | cumulative ms |",
        "|---|---|---|",
    ]
    for name, rows in profiles.items():
        lines += [f"| `{name}` | `{module}` | {ms:.1f} |" for module, ms in rows]
    report.section("Cold start imports", "\n".join(lines))


# -- 7. memory --------------------------------------------------------------------------


def memory(report: Report, quick: bool, base_url: str) -> None:
    counts = [1000, 2000] if quick else [1000, 5000, 10000, 15000, 20000]
    job = {"kind": "memory", "base_url": base_url, "counts": counts}
    points = run_child("benchmarks.overhead", job)["points"]
    bare = run_child("benchmarks.overhead", {**job, "bare": True})["points"]
    warm = points[0]
    at_1k = next(p for p in points if p["steps"] == 1000)
    last = points[-1]
    growth = [
        (b["rss_mb"] - a["rss_mb"]) * 1000 / (b["steps"] - a["steps"])
        for a, b in itertools.pairwise(points[1:])
    ] or [(last["rss_mb"] - at_1k["rss_mb"]) * 1000 / max(last["steps"] - 1000, 1)]
    report.row(
        f"7. RSS after 1k steps -> after {last['steps'] // 1000}k steps",
        f"{at_1k['rss_mb']:.1f} -> {last['rss_mb']:.1f} MiB",
        f"after {warm['steps']}-step warm-up {warm['rss_mb']:.1f} MiB",
        f"{last['rss_mb'] / at_1k['rss_mb']:.3f}x",
        "no growth (leak)",
    )
    report.row(
        "7. RSS growth per 1k steps after the first 1k (per segment)",
        stat(growth).fmt(" MiB"),
        "",
        "",
        "~0",
    )
    report.row(
        f"7. RSS after {last['steps'] // 1000}k steps vs as many bare LiteLLM calls",
        f"{last['rss_mb']:.1f} MiB (+{last['rss_mb'] - bare[-1]['rss_mb']:.1f} MiB)",
        f"bare calls {bare[-1]['rss_mb']:.1f} MiB",
        f"{last['rss_mb'] / bare[-1]['rss_mb']:.3f}x",
        "within 20 MiB",
    )
    body = "| steps | RSS MiB, steps | RSS MiB, bare calls |\n|---|---|---|\n" + "\n".join(
        f"| {p['steps']} | {p['rss_mb']:.1f} | {b['rss_mb']:.1f} |"
        for p, b in zip(points, bare, strict=True)
    )
    report.section("Memory (distinct prompts, concurrency 50)", body)


# -- 9. whatif --------------------------------------------------------------------------


def whatif(report: Report, quick: bool) -> None:
    from benchmarks import whatif as bench

    result = bench.run(100_000, 2 if quick else 3)
    replay, read, ratio = bench.summary(result)
    report.row(
        f"9. `whatif` over {result['attempts'] // 1000}k attempts ({result['steps']} steps, "
        f"{result['refused_steps']} refused by the candidate's budget)",
        replay.fmt(" s"),
        f"reading the same rows {read.fmt(' s')}",
        _x(ratio),
        "seconds",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 2.5 minutes)")
    parser.add_argument("--only", choices=NAMES, action="append", help="run only this (repeatable)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated provider latency")
    ns = parser.parse_args(argv)
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    wanted = ns.only or list(NAMES)
    load_start = _load()
    started = time.perf_counter()
    report = Report()
    sim = (
        SimulatorProcess(ns.latency_ms)
        if {"overhead", "settings", "profile", "memory", "looplag"} & set(wanted)
        else None
    )
    try:
        jobs: dict[str, Callable[[], None]] = {
            "overhead": lambda: overhead(report, ns.quick, _url(sim)),
            "settings": lambda: settings(report, ns.quick, _url(sim)),
            "profile": lambda: profile(report, ns.quick, _url(sim)),
            "fallback": lambda: fallback(report, ns.quick),
            "looplag": lambda: looplag(report, ns.quick, _url(sim)),
            "switch": lambda: switch(report, ns.quick),
            "health": lambda: health(report, ns.quick),
            "budget": lambda: budget(report, ns.quick),
            "coldstart": lambda: coldstart(report, ns.quick),
            "memory": lambda: memory(report, ns.quick, _url(sim)),
            "whatif": lambda: whatif(report, ns.quick),
        }
        for name in NAMES:
            if name in wanted:
                t0 = time.perf_counter()
                jobs[name]()
                print(f"[{name}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
    finally:
        if sim is not None:
            sim.close()
    elapsed = time.perf_counter() - started
    header = (
        f"## Benchmark results ({'quick' if ns.quick else 'full'} run)\n\n"
        f"{time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}; loopback simulator with "
        f"{ns.latency_ms:g} ms latency; {elapsed:.0f} s wall; load average (1/5/15 min) "
        f"{load_start} at the start, {_load()} at the end. Median (min-max) over repeats."
    )
    text = report.markdown(header)
    print(text)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text(text, "utf-8")
    if not ns.quick and not ns.only:
        (HERE / "RESULTS.md").write_text(text, "utf-8")
    return 0


def _load() -> str:
    """The machine's load average now: a shared machine's load explains absolute figures."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _url(sim: SimulatorProcess | None) -> str:
    assert sim is not None
    return sim.base_url


if __name__ == "__main__":
    sys.exit(main())
