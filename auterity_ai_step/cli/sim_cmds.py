"""``auterity-ai-step simulate``: a loopback provider simulator to test fallback chains. The
scenario file format is :data:`SCENARIO_FORMAT`, the command's epilog: ``simulate --help``
prints it and the CLI reference page is generated from it, so it is written once, here."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from .root import app

__all__ = ["SCENARIO_FORMAT", "simulate"]


def _unwrapped(text: str) -> str:
    """Each prose paragraph on one line, for the terminal to wrap (typer's rich help keeps
    line breaks); a paragraph whose first line is ``\\b`` keeps its lines (click's rule)."""
    paragraphs = text.strip("\n").split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


#: The scenario file format: the epilog of ``simulate --help`` and, generated from that
#: epilog, the "Scenario file format" section of the CLI reference page (where the ``\b``
#: paragraph becomes a YAML block). Keep its lines under 78 characters, so an 80-column
#: terminal does not wrap them.
SCENARIO_FORMAT = _unwrapped(
    """
Scenario file (--scenario): YAML, or JSON when the file name ends in .json. Every key is
optional; this example uses them all:

\b
seed: 7                # makes chaos draws repeatable (--seed overrides it)
default:               # models not listed below; default: null -> HTTP 404
  latency_ms: 20
models:
  gpt-4o-mini:         # the model name in the request (no provider prefix)
    latency_ms: 150
    outcomes: [500, "429 retry-after=2", ok]   # played in order, then cycled
    cycle: true        # false: repeat the last outcome forever
    answer: "Thanks for your inquiry!"  # default: "Simulated answer."
    prompt_tokens: 120 # usage reported (default: ~4 characters a token)
    completion_tokens: 40
    usage: true        # false: no usage in the answer
    hang_s: 30         # how long a timeout outcome hangs (default 30)
  llama3:
    chaos: {ok: 0.8, 500: 0.1, timeout: 0.1}   # seeded random outcomes

Outcomes: ok; an HTTP status (500, 503, 401, 404, ...), optionally with a Retry-After
header as "429 retry-after=SECONDS"; context_overflow (a 400 saying the context is too
long); timeout (hang); drop (close the connection); malformed (a non-JSON body);
no_choices; empty_length (an empty answer cut by the token limit); or a mapping
{status: 400, message: "...", retry_after: 2}, where body: {...} instead of message sends
that exact error body (a provider's own words). Without a scenario every model answers
with status ok and the text "Simulated answer." (so does any model whose entry sets no
answer).

To use the simulator, point a policy model's api_base at the printed URL ({url}/v1 for
OpenAI models, {url} for Ollama, HuggingFace and Anthropic models), or let run and health
do it for every model with --simulator or --scenario.
"""
)


@app.command("simulate", epilog=SCENARIO_FORMAT)
def simulate(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
    scenario: Annotated[
        Path | None,
        typer.Option(
            help="Scenario file (YAML or JSON) scripting each model's answers; its format "
            "is shown below the options. Without it every model answers with status ok "
            'and the text "Simulated answer."'
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for chaos draws (overrides the file's seed).")
    ] = None,
    exit_after: Annotated[float | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the loopback provider simulator until Ctrl-C."""
    from ..simulator.server import Scenario, Simulator, load_scenario  # aiohttp.web: only here

    try:
        loaded = load_scenario(scenario) if scenario else Scenario()
    except (OSError, ValueError, TypeError) as exc:
        typer.echo(f"error: cannot load scenario {scenario}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if seed is not None:
        loaded.seed = seed
    sim = Simulator(loaded, port=port)
    try:
        base_url, stop = sim.run_in_thread()
    except OSError as exc:
        typer.echo(f"error: cannot listen on 127.0.0.1:{port}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"simulator listening on {base_url}  (OpenAI api_base: {base_url}/v1)")
    for name, behaviour in loaded.models.items():
        outcomes = "chaos" if behaviour.chaos else ", ".join(map(str, behaviour.outcomes))
        typer.echo(f"  {name}: {outcomes} (latency {behaviour.latency_ms:g} ms)")
    fallback = loaded.default
    default = "404" if fallback is None else ", ".join(map(str, fallback.outcomes))
    typer.echo(f"  other models: {default}")
    typer.echo("Press Ctrl-C to stop.")
    try:
        threading.Event().wait(exit_after)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        pass
    finally:
        stop()
        typer.echo(f"stopped after {sim.count()} requests")
