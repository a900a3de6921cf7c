"""The README's main job: a three-step dealership workflow run end to end.

Customer inquiry → lead qualification → service recommendation, each an AI node handed to
``AIStepExecutor`` exactly as the Auterity engine would, each step's output merged into
the next step's input. With no provider credentials the built-in simulator stands in for
every provider (and says so); its scenario makes the first step's primary model fail so a
fallback answers, and the ledger printed at the end shows every attempt, failed ones too.
The demo always runs on the embedded defaults, the bundled policy, whose models its steps
name; a policy set with ``$AUTERITY_AI_POLICY`` is not used (the first line says so).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import yaml
from rich.console import Console
from rich.table import Table

from ..contract.policy import ModelSpec, Policy
from ..core.host import WorkflowNode
from ..money.prices import money_text
from ..resources import bundled_policy_path, example_path
from ..settings import POLICY_ENV
from ..simulator.policy import simulated_policy
from ..simulator.server import ModelBehaviour, Scenario
from .output import print_result

if TYPE_CHECKING:
    from ..core.runtime import Ledger

__all__ = [
    "DEMO_STEPS",
    "StepRun",
    "available_real_models",
    "demo_input",
    "demo_scenario",
    "demo_steps",
    "run_demo",
    "simulated_policy",
]

DEMO_STEPS = ("customer_inquiry", "lead_qualification", "service_recommendation")


@dataclass
class StepRun:
    """One step of the demo workflow as the engine would hold it."""

    node_id: str
    title: str
    data: dict[str, Any]
    result: Any = None
    extra_fallbacks: list[str] = field(default_factory=list)


def demo_steps() -> list[StepRun]:
    """The bundled example steps, in workflow order."""
    steps = []
    for name in DEMO_STEPS:
        data = yaml.safe_load(example_path(f"{name}.step.yml").read_text("utf-8"))
        steps.append(StepRun(node_id=name, title=str(data.get("label", name)), data=data))
    return steps


def demo_input() -> dict[str, Any]:
    """The workflow's initial input: the bundled example inputs together."""
    merged: dict[str, Any] = {}
    for name in DEMO_STEPS:
        merged.update(json.loads(example_path(f"{name}.input.json").read_text("utf-8")))
    return merged


def _answer(prompt: str) -> str:
    """Plausible canned answers, so the demo reads like a real run."""
    lowered = prompt.lower()
    if "qualification" in lowered:
        return json.dumps(
            {
                "score": 8,
                "reasoning": "Pre-approved financing, clear budget and a this-month timeline; "
                "a trade-in to appraise.",
            }
        )
    if "service advisor" in lowered or "concerns" in lowered:
        return (
            "1. Brakes (urgent): inspect pads and rotors, about $250-$450.\n"
            "2. Check engine light: read codes and diagnose, about $120.\n"
            "3. AC: leak test and recharge, about $150-$300.\n"
            "4. Oil change is due: about $80."
        )
    return (
        "Hi Dana, yes: the blue 2024 Civic Sport is still on our lot, and Saturday works for a "
        "test drive. Would 10 am suit you? We look forward to seeing you at Riverside Honda."
    )


def demo_scenario() -> Scenario:
    """Every model answers, except the first step's primary, which keeps failing."""
    return Scenario(
        models={
            # The customer-inquiry step's primary: down with 503s, so its fallback answers
            # at once (the primary's retry waits for its circuit's half-open probe).
            "gpt-4o-mini": ModelBehaviour(outcomes=("503",), latency_ms=20),
            # A rate limit: a fallback fits, so it answers instead of waiting Retry-After.
            "gpt-4o": ModelBehaviour(
                outcomes=("429 retry-after=0.2", "ok"), latency_ms=60, answer=_answer
            ),
        },
        default=ModelBehaviour(latency_ms=40, answer=_answer),
    )


def _ollama_reachable(spec: ModelSpec, timeout_s: float = 0.3) -> bool:
    url = urlparse(spec.api_base or "http://localhost:11434")
    try:
        with socket.create_connection((url.hostname or "localhost", url.port or 80), timeout_s):
            return True
    except OSError:
        return False


def available_real_models(policy: Policy, env: Mapping[str, str] | None = None) -> list[str]:
    """Models that can run for real here: their key is set, or (Ollama) it is reachable."""
    env = os.environ if env is None else env
    names = []
    for name, spec in policy.models.items():
        if spec.provider == "ollama":
            if _ollama_reachable(spec):
                names.append(name)
        elif spec.api_key_env and env.get(spec.api_key_env):
            names.append(name)
    return names


def new_execution_id() -> str:
    return f"demo-{uuid.uuid4().hex[:12]}"


def run_demo(
    console: Console,
    *,
    force_simulator: bool = False,
    db_url: str | None = None,
    ledger: Ledger | None = None,
) -> bool:
    """Run the workflow, print each step and the execution's ledger; True if all succeeded.

    The workflow runs on the embedded defaults: the bundled policy, whatever
    ``$AUTERITY_AI_POLICY`` names (its steps name the bundled models), as the first line
    printed says. Usage goes to ``ledger`` (left open), else to a ledger opened on
    ``db_url`` (closed at the end).
    """
    from ..core.executor import AIStepExecutor
    from ..core.runtime import Ledger, PolicyStore

    store = PolicyStore(bundled_policy_path())
    policy = store.current()
    custom = os.environ.get(POLICY_ENV, "").strip()
    ignored = f"; ${POLICY_ENV} ({custom}) is not used" if custom else ""
    console.print(  # one line however long the paths: the first line says what runs
        f"Demo workflow on the bundled model policy (version {policy.version}){ignored}.",
        highlight=False,
        soft_wrap=True,
    )
    real = [] if force_simulator else available_real_models(policy)
    stop = None
    own = ledger is None
    ledger = Ledger(db_url) if ledger is None else ledger
    try:
        if real:
            console.print(f"Using real providers for: {', '.join(real)}", highlight=False)
        else:
            from ..simulator.server import Simulator

            base_url, stop = Simulator(demo_scenario()).run_in_thread()
            policy = simulated_policy(policy, base_url)
            store = PolicyStore.fixed(policy)
            console.print(
                f"No provider credentials found: using the built-in provider simulator at "
                f"{base_url} (no real provider is called).",
                highlight=False,
            )
        executor = AIStepExecutor(policy_store=store, ledger=ledger)
        execution_id = new_execution_id()
        ok = asyncio.run(_run_workflow(console, executor, execution_id, real))
        _print_ledger(console, ledger, execution_id)
        _print_next_steps(console, ledger.url, execution_id)
        return ok
    finally:
        if own:
            ledger.close()
        if stop is not None:
            stop()


async def _run_workflow(
    console: Console,
    executor: Any,
    execution_id: str,
    real_models: list[str],
) -> bool:
    data = demo_input()
    ok = True
    for number, step in enumerate(demo_steps(), start=1):
        if real_models:
            # Only what can really run here: append the available models as fallbacks.
            extra = [m for m in real_models if m not in step.data.get("fallback_models", [])]
            step.data["fallback_models"] = [*step.data.get("fallback_models", []), *extra]
        console.rule(f"step {number}: {step.title} ({step.node_id})")
        node = WorkflowNode(id=step.node_id, type="ai", data=step.data)
        result = await executor.execute_step(node, data, execution_id=execution_id)
        print_result(console, result)
        ok = ok and result.success
        if result.success:
            data = {**data, **result.output_data}
    return ok


def _print_ledger(console: Console, ledger: Any, execution_id: str) -> None:
    rows = ledger.execution_usage(execution_id)
    table = Table(title=f"ledger for execution {execution_id} (from {ledger.url})")
    for column in ("node", "attempt", "model", "status", "error", "tokens", "cost", "latency ms"):
        table.add_column(column)
    total = Decimal(0)
    for row in rows:
        total += Decimal(str(row["cost"]))
        table.add_row(
            str(row["node_id"]),
            str(row["attempt"]),
            str(row["model_name"]) + (" (fallback)" if row["is_fallback"] else ""),
            str(row["status"]),
            str(row["error_type"] or ""),
            str(row["total_tokens"]),
            f"${money_text(Decimal(str(row['cost'])))}",
            str(row["latency_ms"]),
        )
    console.rule("ledger")
    console.print(table)
    console.print(
        f"{len(rows)} attempts recorded; total cost ${money_text(total)}", highlight=False
    )


def console_built() -> bool:
    """Whether this install ships the web console (``serve`` then serves it at ``/``)."""
    from importlib.resources import files

    return (files("auterity_ai_step") / "console_dist" / "index.html").is_file()


def _print_next_steps(console: Console, ledger_url: str, execution_id: str) -> None:
    """Where to go after the table: the ledger, this run's usage, and the console if built."""
    from ..settings import database_url

    where = ledger_url.removeprefix("sqlite:///") if ledger_url.startswith("sqlite:///") else ""
    db = "" if ledger_url == database_url(create_dir=False) else f" --db '{ledger_url}'"
    lines = [
        "next:",
        f"  the ledger, every attempt with its tokens and cost: {where or ledger_url}",
        f"  this run's usage: auterity-ai-step usage --execution-id {execution_id}{db}",
    ]
    if console_built():
        lines.append(
            f"  the console: auterity-ai-step serve --insecure-local{db}, "
            "then open http://127.0.0.1:8765/"
        )
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
