"""``whatif``: what the recorded steps would have cost under another policy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from .contract_cmds import DbOption, existing_ledger_url, open_ledger, policy_store
from .root import app, console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["whatif", "window_start"]


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def window_start(days: int | None, since: str | None) -> datetime:
    """The first moment replayed: midnight UTC ``days - 1`` days ago, or ``since``.

    ``ValueError`` naming the flag and the fix for a bad value or both flags at once.
    """
    if days is not None and since is not None:
        raise ValueError("--days and --since exclude each other: give one of them")
    if since is not None:
        try:
            parsed = (
                datetime.combine(date.fromisoformat(since), time())
                if len(since) == 10
                else datetime.fromisoformat(since)
            )
        except ValueError:
            raise ValueError(
                f"--since {since!r} is not a date: give YYYY-MM-DD (or an ISO 8601 time)"
            ) from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    window = 7 if days is None else days
    if window < 1:
        raise ValueError(f"--days {window} is too small: give 1 or more")
    today = datetime.now(UTC).date()
    return datetime.combine(today - timedelta(days=window - 1), time(), tzinfo=UTC)


@app.command("whatif")
def whatif(
    policy: Annotated[
        Path,
        typer.Option(
            "--policy",
            metavar="CANDIDATE",
            help="The candidate policy to replay the recorded steps under.",
            dir_okay=False,
        ),
    ],
    days: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="How many days back, today included (default 7).", show_default=False
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Replay from this UTC day (YYYY-MM-DD) on."),
    ] = None,
    execution_id: Annotated[
        str | None,
        typer.Option("--execution-id", metavar="ID", help="Only the steps of one execution."),
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Replay the recorded steps under a candidate policy: what they would have cost, where
    they would have gone, and which a limit or the daily budget would have refused."""
    from ..core.whatif import what_if
    from ..errors import AuterityAIError, StoreError, redact

    if not policy.is_file():
        _fail(f"error: --policy {policy}: no such file; give the candidate policy's path")
    try:
        start = window_start(days, since)
    except ValueError as exc:
        _fail(f"error: {exc}")
    ledger = open_ledger(existing_ledger_url(db, unset_may_be_missing=False))
    try:
        candidate = policy_store(policy, db).current()
        report = what_if(candidate, ledger, since=start, execution_id=execution_id)
    except StoreError as exc:
        _fail(f"error: {redact(str(exc))}")
    except AuterityAIError as exc:
        _fail(f"error: --policy {policy}: {exc}")
    finally:
        ledger.close()
    data = report.to_data()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    _print(data)


def _print(data: dict[str, Any]) -> None:
    out = console()
    scope = f"execution {data['execution_id']}, " if data["execution_id"] else ""
    total = data["total"]
    out.print(
        f"What if: {data['steps']} recorded step(s), {scope}since {data['since']}, under "
        f"policy {data['policy_version']}"
    )
    out.print(
        f"total then ${total['cost_then']}, now ${total['cost_now']} "
        f"(difference ${total['difference']})"
    )
    out.print(
        f"now with the token estimate ${data['cost_now_estimate']}: an estimate, "
        f"{data['estimated_steps']} step(s) rescaled by tokenizer ratios, "
        f"{data['unestimated_steps']} without a known tokenizer"
    )
    for key, title in (
        ("by_model", "model"),
        ("by_task_type", "task type"),
        ("by_node", "workflow node"),
    ):
        out.print(_table(f"By {title}", title, data[key]))
    _print_refused(out, data)
    out.print(f"context window too small: {data['context_miss_steps']} step(s)")
    for miss in data["context_misses"][:10]:
        out.print(
            f"  node {miss['node_id']}: {miss['model']} holds {miss['context_window']} tokens, "
            f"needs {miss['needed']}; routed to {miss['routed_to'] or 'no model'}"
        )
    if data["old_steps"]:
        out.print(
            f"{data['old_steps']} step(s) were recorded before the ledger kept their routing: "
            "replayed with the model they went to, without task type or fallbacks"
        )
    if data["unanswered_then"]:
        out.print(f"{data['unanswered_then']} step(s) had no answer then: not priced now")
    if data["truncated_steps"]:
        out.print(
            f"{data['truncated_steps']} answer(s) were longer than the candidate's max_tokens: "
            "priced as cut off there"
        )
    out.print("What a replay cannot know:")
    for caveat in data["caveats"]:
        out.print(f"  - {caveat}")


def _print_refused(out: Console, data: dict[str, Any]) -> None:
    """The steps a limit would refuse now, and the days the budget would run out."""
    refused = data["refused_steps"]
    by_limit = ", ".join(f"{name}: {count}" for name, count in data["refused_by_limit"].items())
    out.print(f"refused now: {refused} step(s)" + (f" ({by_limit})" if by_limit else ""))
    for day in data["budget_days"]:
        if day["alert_at"]:
            out.print(
                f"  daily budget ${day['budget']}: the alert would fire on {day['day']} at "
                f"{day['alert_at']}"
            )
        if day["refused_steps"]:
            out.print(
                f"  daily budget ${day['budget']} would run out on {day['day']} at "
                f"{day['ran_out_at']}: {day['refused_steps']} step(s) refused that day"
            )
    for step in data["refused"][:10]:
        out.print(f"  {step['at']} node {step['node_id']}: {step['reason']}")


def _table(title: str, first: str, rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for name in (first, "steps then", "cost then", "steps now", "cost now", "difference"):
        table.add_column(name, justify="left" if name == first else "right")
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["steps_then"]),
            row["cost_then"],
            str(row["steps_now"]),
            row["cost_now"],
            row["difference"],
        )
    return table
