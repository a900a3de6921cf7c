"""How the CLI prints a step's result: the answer, every attempt, skips, tokens and cost.

Shared by ``run``, ``demo`` and the replays, so a result reads the same wherever it shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ..core.host import StepExecutionResult

__all__ = ["attempts_table", "print_result"]


def attempts_table(attempts: list[dict[str, Any]], title: str = "attempts") -> Table:
    """The ``ai_attempts`` of a step output as a table."""
    table = Table(title=title, title_justify="left")
    for column in ("#", "model", "provider", "outcome", "error", "latency ms", "tokens", "cost"):
        table.add_column(column, overflow="fold")
    for a in attempts:
        error = a["error_type"] or ""
        if a.get("error"):
            error = f"{error}: {a['error'][:80]}"
        table.add_row(
            str(a["attempt"]),
            a["model"] + (" (fallback)" if a["is_fallback"] else ""),
            a["provider"],
            a["outcome"],
            error,
            str(a["latency_ms"]),
            f"{a['prompt_tokens']}+{a['completion_tokens']}",
            f"${a['cost']}",
        )
    return table


def print_result(console: Console, result: StepExecutionResult) -> None:
    """A human summary of one step's result."""
    out = result.output_data
    if result.success:
        console.print(
            f"[bold green]answer[/] from [bold]{out['ai_model']}[/] ({out['ai_provider']}):"
        )
        console.print(out["ai_response"], markup=False, highlight=False)
        if out.get("ai_replayed"):
            console.print(
                "replayed: this step already succeeded in this execution, so its recorded "
                "answer was returned and no model was called",
                markup=False,
            )
    else:
        console.print(f"[bold red]failed:[/] {result.error_message}", markup=True, highlight=False)
    if out.get("ai_attempts"):
        console.print(attempts_table(out["ai_attempts"]))
    for skip in out.get("ai_skipped", []):
        console.print(f"  skipped {skip['model']}: {skip['reason']}", markup=False)
    if "ai_usage" in out:
        usage = out["ai_usage"]
        console.print(
            f"tokens {usage['prompt_tokens']} in + {usage['completion_tokens']} out; "
            f"step cost ${out['ai_cost']}; {result.duration_ms} ms; "
            f"execution {out['ai_execution_id']} ({out['ai_execution_id_source']})"
        )
    elif "ai_cost" in out:
        console.print(f"step cost ${out['ai_cost']}; execution {out['ai_execution_id']}")
