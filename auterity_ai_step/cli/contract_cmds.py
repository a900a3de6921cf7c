"""Commands over the step contract (validate, schema, models, render) and the shared options.

None of them calls a provider, so none imports LiteLLM; they start fast.

Every command reads the policy the executor runs by: the policy file (``--policy``, else
``$AUTERITY_AI_POLICY``, else the bundled one) plus the model configurations stored in the
ledger (``--db``, else ``$AUTERITY_AI_DATABASE_URL``, else the default SQLite file), as the
API's ``PUT /api/models/config`` writes them. Reading them creates nothing: without the
database there are none, and a database that cannot be read is a warning, not an error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import yaml

from ..errors import PolicyError, StepConfigError, TemplateError
from .root import app, console

if TYPE_CHECKING:
    from ..contract.policy import Policy
    from ..core.policy_source import Overrides, PolicyStore
    from ..core.runtime import Ledger

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
        metavar="URL",
        help="Ledger SQLAlchemy URL (default: $AUTERITY_AI_DATABASE_URL, else a SQLite file "
        "in the user's data directory).",
    ),
]
StepArgument = Annotated[
    Path,
    typer.Argument(
        metavar="STEP_FILE", help="AI step config (node.data, or a whole node) as JSON or YAML."
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def open_ledger(db: str | None) -> Ledger:
    """The ledger at ``db`` (else ``$AUTERITY_AI_DATABASE_URL``, else the default file).

    A URL it cannot use (unparsable, another database, a missing driver, a directory that
    cannot be created) prints ``error: <problem>`` and exits 1: no traceback, no password.
    Opening connects to nothing; the first read or write does.
    """
    from ..core.runtime import Ledger
    from ..errors import StoreError

    try:
        return Ledger(db)
    except StoreError as exc:
        _fail(f"error: {exc}")


def existing_ledger_url(db: str | None, *, unset_may_be_missing: bool) -> str | None:
    """The ledger URL a read-only command reads, refusing a SQLite file that does not exist.

    Only commands that write create a ledger. A ``--db`` that names no database is a typo
    worth saying: exit 1, naming the path. The configured ledger (``$AUTERITY_AI_DATABASE_URL``
    or the default file) not existing yet means nothing was recorded: None when
    ``unset_may_be_missing`` (the command reads as from an empty ledger), else the same
    refusal.
    """
    from ..errors import StoreError
    from ..settings import DATABASE_ENV, database_url
    from ..store.locate import missing_sqlite_file, plainly_missing_sqlite_file

    url = db if db is not None else database_url(create_dir=False)
    try:
        missing = plainly_missing_sqlite_file(url) or missing_sqlite_file(url)
    except StoreError as exc:
        _fail(f"error: {exc}")
    if missing is None:
        return url
    if db is None and unset_may_be_missing:
        return None
    from_env = bool(os.environ.get(DATABASE_ENV, "").strip())
    source = "--db" if db is not None else (f"${DATABASE_ENV}" if from_env else "the default")
    _fail(
        f"error: no ledger database at {missing} (from {source}): nothing has been recorded "
        "there. Check the path; 'run' and 'demo' create a ledger when they first record."
    )


def _read_document(path: Path | None, what: str) -> Any:
    """JSON (a ``.json`` file) or YAML from a file, or from standard input for ``-``."""
    try:
        text = sys.stdin.read() if path is None or str(path) == "-" else path.read_text("utf-8")
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    if path is not None and path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            problem = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        if isinstance(_yaml_or_none(text), dict):
            _fail(
                f"{what} {path} holds YAML, not JSON ({problem}); "
                f"rename it to {path.with_suffix('.yml').name}, or write it as JSON"
            )
        _fail(f"{what} {path} is not valid JSON ({problem})")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        _fail(f"{what} {path} is not valid YAML: {' '.join(str(exc).split())}")


def _yaml_or_none(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _read_step(path: Path) -> Any:
    data = _read_document(path, "step file")
    if data is None:
        _fail(
            f"step file {path} is empty: write the step's keys in it, e.g. "
            "'prompt: Reply to {{ inquiry }}' ('auterity-ai-step schema' lists them all)"
        )
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        return data["data"]  # a whole WorkflowNode: its config is node.data
    return data


def _stored_configurations(db: str | None) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """(version token, configurations) stored in the ledger, read once.

    None when there are none to read (no such database: nothing is created) or, after one
    warning line on stderr, when the database cannot be read.
    """
    from ..errors import StoreError, redact
    from ..settings import database_url
    from ..store.locate import plainly_missing_sqlite_file

    if plainly_missing_sqlite_file(db if db is not None else database_url(create_dir=False)):
        return None  # nothing stored: no need to load SQLAlchemy to find that out
    from ..core.runtime import read_stored_configurations

    try:
        return read_stored_configurations(db)
    except StoreError as exc:
        problem = " ".join(redact(str(exc)).split())
        typer.echo(
            f"warning: ignoring the model configurations stored in the ledger ({problem}); "
            "using the policy file alone",
            err=True,
        )
        return None


def _load_store(path: Path | None, db: str | None) -> tuple[PolicyStore, int]:
    """The store (see :func:`policy_store`) and how many configurations the ledger added."""
    from ..core.policy_source import PolicyStore

    stored = _stored_configurations(db)
    overrides: Overrides | None = None if stored is None else (lambda: stored)
    try:
        store = PolicyStore(path, overrides=overrides)
    except PolicyError as exc:
        note = []
        if stored and stored[1]:
            note = ["(the policy includes the model configurations stored in the ledger)"]
        _fail("\n".join(["policy error:", *exc.errors, *note]))
    return store, 0 if stored is None else len(stored[1])


def policy_store(path: Path | None, db: str | None) -> PolicyStore:
    """The policy the executor would run by: the file plus the ledger's configurations."""
    return _load_store(path, db)[0]


def _policy(path: Path | None, db: str | None) -> Policy:
    return policy_store(path, db).current()


def _validated(step_file: Path, policy: Policy) -> Any:
    from ..contract.step import validate_step_config

    data = _read_step(step_file)
    try:
        return validate_step_config(data, policy)
    except StepConfigError as exc:
        _fail("\n".join(exc.errors))


@app.command()
def validate(step_file: StepArgument, policy: PolicyOption = None, db: DbOption = None) -> None:
    """Check a step config against the schema, the policy's models and its templates'
    syntax; print every problem, one a line (exit 1 if invalid)."""
    from ..contract.step import step_problems

    data = _read_step(step_file)
    problems = step_problems(data, _policy(policy, db))
    if problems:
        _fail("\n".join(problems))
    typer.echo("valid" if "config_version" in data else "valid (legacy)")


@app.command()
def schema(policy: PolicyOption = None, db: DbOption = None) -> None:
    """Print the step JSON Schema, with the policy's models as the model choices."""
    from ..contract.step import step_schema

    typer.echo(json.dumps(step_schema(_policy(policy, db)), indent=2))


@app.command()
def models(policy: PolicyOption = None, db: DbOption = None) -> None:
    """List the policy's models: provider, LiteLLM name, prices and their source, limits."""
    from rich.table import Table

    from ..core.prices import PRICES
    from ..money.prices import money_text

    existing_ledger_url(db, unset_may_be_missing=True)
    store, stored = _load_store(policy, db)
    loaded = store.current()
    source = loaded.source
    if stored:
        source += f" + {stored} model configuration(s) stored in the ledger"
    table = Table(title=f"models in {source} (version {loaded.version})")
    for column in ("name", "provider", "litellm model"):  # folded when narrow, never cut
        table.add_column(column, overflow="fold")
    for column in ("in / 1k", "out / 1k"):
        table.add_column(column, justify="right")
    table.add_column("price from")  # policy, litellm (its bundled map) or none
    table.add_column("context", justify="right")
    table.add_column("max output", justify="right")
    table.add_column("use cases")
    for spec in loaded.models.values():
        # The price runs use: the policy's, else LiteLLM's map (only then is LiteLLM
        # imported, so a policy that prices every model lists them without it), else none.
        price = PRICES.price(spec)
        table.add_row(
            spec.name,
            spec.provider,
            spec.litellm_model,
            "-" if price is None else f"${money_text(price.input_per_1k)}",
            "-" if price is None else f"${money_text(price.output_per_1k)}",
            "none" if price is None else price.source,
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
        typer.Option(
            "--var", metavar="KEY=VALUE", help="Input value (VALUE as JSON if it parses)."
        ),
    ] = None,
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Print, as JSON, the chat messages the step would send for the given input."""
    from ..contract.templates import build_messages

    config = _validated(step_file, _policy(policy, db))
    try:
        messages = build_messages(config, read_input(input_file, var))
    except TemplateError as exc:
        _fail(f"template error: {exc}")
    typer.echo(json.dumps(messages, indent=2, ensure_ascii=False))
