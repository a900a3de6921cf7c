"""Commands over the step contract (validate, schema, models, render) and the shared options.

None of them calls a provider, so none imports LiteLLM; they start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import yaml

from ..errors import PolicyError, StepConfigError, TemplateError
from . import app, console

if TYPE_CHECKING:
    from ..contract.policy import Policy

PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="Model policy file (default: $AUTERITY_AI_POLICY, else the bundled one).",
        dir_okay=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Ledger SQLAlchemy URL (default: $AUTERITY_AI_DATABASE_URL, else a SQLite file "
        "in the user's data directory).",
    ),
]
StepArgument = Annotated[
    Path, typer.Argument(help="AI step config (node.data, or a whole node) as JSON or YAML.")
]


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _read_document(path: Path | None, what: str) -> Any:
    """JSON or YAML from a file, or from standard input for ``-``."""
    try:
        text = sys.stdin.read() if path is None or str(path) == "-" else path.read_text("utf-8")
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    try:
        if path is not None and path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        _fail(f"{what} {path} is not valid JSON/YAML: {exc}")


def _read_step(path: Path) -> Any:
    data = _read_document(path, "step file")
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        return data["data"]  # a whole WorkflowNode: its config is node.data
    return data


def _policy(path: Path | None) -> Policy:
    from ..contract.policy import load_policy

    try:
        return load_policy(path)
    except PolicyError as exc:
        _fail("\n".join(["policy error:", *exc.errors]))


def _validated(step_file: Path, policy: Policy) -> Any:
    from ..contract.step import validate_step_config

    data = _read_step(step_file)
    try:
        return validate_step_config(data, policy)
    except StepConfigError as exc:
        _fail("\n".join(exc.errors))


@app.command()
def validate(step_file: StepArgument, policy: PolicyOption = None) -> None:
    """Check a step config against the schema and the policy's models (exit 1 if invalid)."""
    config = _validated(step_file, _policy(policy))
    typer.echo("valid (legacy)" if config.legacy else "valid")


@app.command()
def schema(policy: PolicyOption = None) -> None:
    """Print the step JSON Schema, with the policy's models as the model choices."""
    from ..contract.step import step_schema

    typer.echo(json.dumps(step_schema(_policy(policy)), indent=2))


def _price(value: Any) -> str:
    return "-" if value is None else f"${value}"


@app.command()
def models(policy: PolicyOption = None) -> None:
    """List the policy's models: provider, LiteLLM name, prices, limits, use cases."""
    from rich.table import Table

    loaded = _policy(policy)
    table = Table(title=f"models in {loaded.source} (version {loaded.version})")
    for column in ("name", "provider", "litellm model", "in / 1k", "out / 1k", "context"):
        table.add_column(
            column, justify="right" if "/" in column or column == "context" else "left"
        )
    table.add_column("max output", justify="right")
    table.add_column("use cases")
    for spec in loaded.models.values():
        table.add_row(
            spec.name,
            spec.provider,
            spec.litellm_model,
            _price(spec.input_cost_per_1k),
            _price(spec.output_cost_per_1k),
            f"{spec.context_window:,}",
            f"{spec.max_output_tokens:,}",
            ", ".join(spec.use_cases),
        )
    console().print(table)


def _parse_var(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        _fail(f"--var {item!r}: expected KEY=VALUE")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def read_input(input_file: Path | None, var: list[str] | None) -> dict[str, Any]:
    """The step input: a JSON/YAML object from a file (or ``-``), then ``--var`` values."""
    data: Any = {} if input_file is None else _read_document(input_file, "input file")
    if not isinstance(data, dict):
        _fail(f"input file {input_file} must hold an object of input values")
    data.update(_parse_var(item) for item in var or ())
    return data


@app.command()
def render(
    step_file: StepArgument,
    input_file: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="Step input as JSON/YAML; '-' reads standard input."),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="Input value KEY=VALUE (VALUE as JSON if it parses)."),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Print, as JSON, the chat messages the step would send for the given input."""
    from ..contract.templates import build_messages

    config = _validated(step_file, _policy(policy))
    try:
        messages = build_messages(config, read_input(input_file, var))
    except TemplateError as exc:
        _fail(f"template error: {exc}")
    typer.echo(json.dumps(messages, indent=2, ensure_ascii=False))
