"""Commands that run steps or reach providers: run, health, estimate, demo.

They import the engine (and so, on the first call, LiteLLM) inside the command, so the
fast commands of ``contract_cmds`` stay fast.
"""

from __future__ import annotations

import json
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .contract_cmds import (
    DbOption,
    PolicyOption,
    StepArgument,
    _fail,
    _read_step,
    existing_ledger_url,
    open_ledger,
    policy_store,
    read_input,
)
from .root import app, console

T = TypeVar("T")

if TYPE_CHECKING:
    from ..contract.policy_model import ModelSpec
    from ..core.runtime import HealthMonitor, PolicyStore
    from ..core.runtime import HealthStatus as HealthCheck
    from .status import LiveStatus

InputOption = Annotated[
    Path | None,
    typer.Option("--input", "-i", help="Step input as JSON/YAML; '-' reads standard input."),
]
VarOption = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="KEY=VALUE", help="Input value (VALUE as JSON if it parses)."),
]
SimulatorOption = Annotated[
    bool,
    typer.Option(
        "--simulator",
        help="Call the built-in provider simulator, not the real providers (no key needed; "
        "without --scenario every model answers 'Simulated answer.').",
    ),
]
ScenarioOption = Annotated[
    Path | None,
    typer.Option(
        "--scenario",
        help="Simulator scenario file (implies --simulator); the format is in "
        "'auterity-ai-step simulate --help'.",
    ),
]

QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No live status on stderr while waiting (shown only on a terminal anyway).",
    ),
]


def _run_async(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, imported here: only the commands that run something load asyncio."""
    import asyncio

    return asyncio.run(work)


def _load_providers(status: LiveStatus, tokenizer_for: ModelSpec | None = None) -> None:
    """Import LiteLLM now, under a status line, so no step or check times the import; with
    ``tokenizer_for``, load that model's tokenizer too (its first use takes a while)."""
    from ..core.providers import load_providers

    with status.showing("loading providers (LiteLLM)"):
        load_providers(tokenizer_for)


@contextmanager
def _providers(store: PolicyStore, simulator: bool, scenario: Path | None) -> Iterator[PolicyStore]:
    """The policy as given, or (``--simulator``/``--scenario``) pointed at the simulator."""
    if not simulator and scenario is None:
        yield store
        return
    from ..core.policy_source import PolicyStore
    from ..simulator.policy import simulated_policy
    from ..simulator.server import Scenario, Simulator, load_scenario

    try:
        loaded = load_scenario(scenario) if scenario is not None else Scenario()
    except (OSError, ValueError, TypeError) as exc:
        _fail(f"cannot load scenario {scenario}: {exc}")
    base_url, stop = Simulator(loaded).run_in_thread()
    typer.echo(
        f"using the built-in provider simulator at {base_url} (no real provider is called)",
        err=True,
    )
    try:
        yield PolicyStore.fixed(simulated_policy(store.current(), base_url))
    finally:
        stop()


@app.command()
def run(
    step_file: StepArgument,
    input_file: InputOption = None,
    var: VarOption = None,
    execution_id: Annotated[
        str | None,
        typer.Option("--execution-id", metavar="ID", help="Record usage against this execution."),
    ] = None,
    policy: PolicyOption = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the step result as JSON.")] = False,
    simulator: SimulatorOption = False,
    scenario: ScenarioOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run one AI step end to end: answer, model, attempts, tokens and cost (exit 1 on failure)."""
    from ..core.executor import AIStepExecutor
    from ..core.host import WorkflowNode
    from .output import print_result
    from .status import LiveStatus

    data = _read_step(step_file)
    if not isinstance(data, dict):
        _fail(f"step file {step_file} must hold an object (the node's data)")
    step_input = read_input(input_file, var)
    node = WorkflowNode(id=step_file.stem, type="ai", data=data)
    ledger = open_ledger(db)
    status = LiveStatus(quiet)
    try:
        with _providers(policy_store(policy, db), simulator, scenario) as store:
            executor = AIStepExecutor(policy_store=store, ledger=ledger)
            current = store.current()
            model = data.get("model")
            primary = model if isinstance(model, str) and model not in ("", "auto") else None
            _load_providers(status, current.models.get(primary or current.routing.default_model))
            with status.showing(f"running step {node.id}"):
                result = _run_async(executor.execute_step(node, step_input, execution_id))
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps(result.__dict__, indent=2, default=str))
    else:
        print_result(console(), result)
    if not result.success:
        if not simulator and scenario is None:
            _suggest_the_simulator(step_file, result.output_data.get("ai_attempts") or [])
        raise typer.Exit(1)


def _suggest_the_simulator(step_file: Path, attempts: list[dict[str, Any]]) -> None:
    """When every model failed for want of a key, say how to try the step without one."""
    missing = []
    for attempt in attempts:
        name, unset, _ = str(attempt.get("error") or "").partition(" is not set")
        if not unset or not name or " " in name:
            return  # some model failed for another reason
        missing.append(name)
    if not missing:
        return
    typer.echo(
        f"no provider key is set ({', '.join(dict.fromkeys(missing))}): export one, or try "
        f"the step without keys on the built-in simulator: "
        f"auterity-ai-step run {step_file} --simulator",
        err=True,
    )


@app.command()
def health(
    models: Annotated[
        list[str] | None, typer.Argument(help="Models to check (default: all in the policy).")
    ] = None,
    policy: PolicyOption = None,
    db: DbOption = None,
    simulator: SimulatorOption = False,
    scenario: ScenarioOption = None,
    quiet: QuietOption = False,
) -> None:
    """Check models with the cheapest real request each (5 s timeout), concurrently."""
    from rich.table import Table

    from ..core.runtime import HealthMonitor
    from .status import LiveStatus

    store = policy_store(policy, db)
    current = store.current()
    unknown = [m for m in models or () if m not in current.models]
    if unknown:
        _fail(f"unknown model(s) {', '.join(unknown)} (known: {', '.join(current.models)})")
    live = LiveStatus(quiet)
    with _providers(store, simulator, scenario) as checked:
        monitor = HealthMonitor.for_policy(checked)  # the policy's circuit settings
        _load_providers(live)
        names = list(models or current.models)
        with live.showing(f"checking {len(names)} model(s)"):
            statuses = _run_async(_check_each(monitor, names, live))
    table = Table(title="model health")
    for column in ("model", "status", "latency ms", "error"):
        table.add_column(column, overflow="fold")
    colours = {"available": "green", "slow": "yellow", "unavailable": "red"}
    for status in statuses:
        colour = colours.get(status.status, "white")
        latency = "-" if status.latency_ms is None else f"{status.latency_ms:.0f}"
        table.add_row(status.model, f"[{colour}]{status.status}[/]", latency, status.error or "")
    console().print(table)


async def _check_each(
    monitor: HealthMonitor, names: list[str], status: LiveStatus
) -> list[HealthCheck]:
    """Every check at once; a status row for each as it answers; results in ``names`` order."""

    async def one(name: str) -> HealthCheck:
        found = await monitor.health_check(name)
        waiting.discard(name)
        why = f" ({found.error[:100]})" if found.error else ""
        status.note(f"  {name}: {found.status}{why}")
        if waiting:
            left = sorted(waiting)
            more = f" and {len(left) - 3} more" if len(left) > 3 else ""
            status.update(f"checking: waiting for {', '.join(left[:3])}{more}")
        return found

    import asyncio

    waiting = set(names)
    return list(await asyncio.gather(*(one(name) for name in names)))


@app.command()
def estimate(
    step_file: StepArgument,
    input_file: InputOption = None,
    var: VarOption = None,
    policy: PolicyOption = None,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Each candidate's max tokens and worst case as run would send it, per limit; no call."""
    from rich.table import Table

    from ..core.estimate import estimate_step
    from ..errors import AuterityAIError, StoreError, redact
    from ..money.prices import money_text
    from .status import LiveStatus

    data = _read_step(step_file)
    url = existing_ledger_url(db, unset_may_be_missing=True)
    ledger = open_ledger(url or "sqlite://")  # no ledger yet: an empty one, in memory
    try:
        store = policy_store(policy, db)
        step_input = read_input(input_file, var)
        with LiveStatus(quiet).showing("counting prompt tokens (loading the tokenizer)"):
            report = estimate_step(data, step_input, store.current(), ledger=ledger)
    except StoreError as exc:
        _fail(f"error: {redact(str(exc))}")
    except AuterityAIError as exc:
        _fail(str(exc))
    finally:
        ledger.close()
    table = Table(title=f"worst case per candidate ({report.prompt_tokens} prompt tokens)")
    for column in ("model", "max tokens", "worst case", "cost_limit", "per_request", "daily"):
        table.add_column(column)
    marks = {True: "[green]fits[/]", False: "[red]no[/]", None: "-"}
    for row in report.rows:
        worst = "unknown price" if row.worst_case is None else f"${money_text(row.worst_case)}"
        table.add_row(
            row.model,
            "refused" if row.max_tokens is None else str(row.max_tokens),
            worst if row.max_tokens is not None else f"at least {worst}",
            marks[row.fits_cost_limit],
            marks[row.fits_per_request],
            marks[row.fits_daily],
        )
    out = console()
    out.print(table)
    for row in report.rows:
        if row.refused:
            out.print(f"  not tried: {row.model}: {row.refused}", markup=False)
    for skip in report.skipped:
        out.print(f"  not a candidate: {skip.model}: {skip.reason}", markup=False)
    out.print(f"daily budget left today: {report.daily_left_text}")


@app.command()
def demo(
    simulator: Annotated[
        bool,
        typer.Option("--simulator", help="Use the built-in simulator even with credentials."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Run a three-step dealership workflow on the bundled policy and print its ledger."""
    from .demo import run_demo

    ledger = open_ledger(db)
    try:
        ok = run_demo(console(), force_simulator=simulator, ledger=ledger)
    finally:
        ledger.close()
    if not ok:
        raise typer.Exit(1)
