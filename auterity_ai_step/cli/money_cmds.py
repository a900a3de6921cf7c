"""``usage``: what was spent, by model and by day, or one execution's attempts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .contract_cmds import DbOption, existing_ledger_url, open_ledger
from .root import app, console

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["usage"]


def _json_default(value: Any) -> str:
    """Money as the table prints it (``0.001716``, not the stored ``0.0017160000``)."""
    if isinstance(value, Decimal):
        from ..money.prices import money_text

        return money_text(value)
    return str(value)


@app.command("usage")
def usage(
    days: Annotated[int, typer.Option(min=1, help="How many days back, today included.")] = 7,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    execution_id: Annotated[
        str | None,
        typer.Option("--execution-id", metavar="ID", help="Every attempt of one execution."),
    ] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show recorded model usage and cost (exact Decimal amounts)."""
    from ..errors import StoreError, redact
    from ..money.prices import money_text

    out = console()
    ledger = open_ledger(existing_ledger_url(db, unset_may_be_missing=False))
    try:
        data: Any = (
            ledger.execution_usage(execution_id) if execution_id else ledger.totals(days, model)
        )
    except StoreError as exc:
        typer.echo(f"error: {redact(str(exc))}", err=True)
        raise typer.Exit(1) from exc
    finally:
        ledger.close()
    if as_json:
        typer.echo(json.dumps(data, default=_json_default, indent=2))
        return
    if execution_id:
        out.print(_attempts_table(execution_id, data))
        return
    title = f"Usage, last {days} day(s)" + (f", model {model}" if model else "")
    out.print(_table(title, "model", data["by_model"], key="model_name"))
    out.print(_table("By day (UTC)", "day", data["by_day"], key="day"))
    out.print(
        f"total: {data['calls']} calls, {data['total_tokens']} tokens, "
        f"{money_text(data['total_cost'])} USD"
    )


def _table(title: str, first: str, rows: list[dict[str, Any]], *, key: str) -> Table:
    from rich.table import Table

    from ..money.prices import money_text

    table = Table(title=title)
    for name in (first, "calls", "errors", "tokens", "cost (USD)"):
        table.add_column(name, justify="left" if name == first else "right")
    for row in rows:
        table.add_row(
            str(row[key]),
            str(row["calls"]),
            str(row["errors"]),
            str(row["total_tokens"]),
            money_text(row["cost"]),
        )
    return table


def _attempts_table(execution_id: str, rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    from ..money.prices import money_text

    table = Table(title=f"Execution {execution_id}: {len(rows)} attempt(s)")
    for name in ("time (UTC)", "node", "attempt", "model", "status", "tokens", "cost (USD)"):
        table.add_column(name)
    for row in rows:
        status = row["status"] + (f" ({row['error_type']})" if row["error_type"] else "")
        table.add_row(
            row["created_at"],
            str(row["node_id"] or ""),
            str(row["attempt"]),
            row["model_name"],
            status,
            str(row["total_tokens"]),
            money_text(row["cost"]),
        )
    return table
