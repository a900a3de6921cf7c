"""``serve``: the model management API as its own server (uvicorn), for use outside Auterity.

It never starts open to the network: without ``AUTERITY_AI_API_TOKEN`` it runs only when
bound to loopback (127.0.0.0/8, ::1, localhost) and told so with ``--insecure-local``.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

from ..errors import redact
from . import app
from .contract_cmds import DbOption, PolicyOption, open_ledger

__all__ = ["ServeRefused", "check_serve_security", "is_loopback", "serve"]

TOKEN_ENV = "AUTERITY_AI_API_TOKEN"  # noqa: S105 - a variable name, not a secret
INSECURE_WARNING = (
    "WARNING: serving WITHOUT AUTHENTICATION (--insecure-local): anyone who can reach "
    "{host}:{port} on this machine can read usage and change model configurations."
)


class ServeRefused(Exception):
    """The server would start insecurely; the message says how to start it safely."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any address in 127.0.0.0/8 or ``::1``."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_serve_security(host: str, insecure_local: bool, token: str | None) -> bool:
    """Whether authentication is on; ServeRefused when the combination is unsafe.

    A token always wins (``--insecure-local`` is then ignored). Without one, only a
    loopback bind with the explicit flag may start, and it starts without authentication.
    """
    if token:
        return True
    if not insecure_local:
        raise ServeRefused(
            f"{TOKEN_ENV} is not set. Set it to a long random token (clients then send "
            f"'Authorization: Bearer <token>'), or, for local development only, bind to "
            f"127.0.0.1 and pass --insecure-local."
        )
    if not is_loopback(host):
        raise ServeRefused(
            f"--insecure-local only works on a loopback address (127.0.0.1, ::1, localhost), "
            f"not {host!r}: anything else would open the API without authentication to the "
            f"network. Set {TOKEN_ENV} instead."
        )
    return False


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    insecure_local: Annotated[
        bool,
        typer.Option(
            "--insecure-local",
            help="Without a token: serve with NO authentication, loopback addresses only.",
        ),
    ] = False,
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Serve the model management API (/api/models, docs at /docs) and the web console (/)."""
    token = os.environ.get(TOKEN_ENV, "").strip() or None
    try:
        secured = check_serve_security(host, insecure_local, token)
    except ServeRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        import uvicorn

        from ..api import _tokens, create_app
        from ..api_console import console_files
    except ImportError as exc:
        typer.echo(
            f"error: serve needs FastAPI and uvicorn: pip install 'auterity-ai-step[api]' ({exc})",
            err=True,
        )
        raise typer.Exit(1) from exc
    if token and insecure_local:
        typer.echo(f"note: {TOKEN_ENV} is set, so --insecure-local is ignored", err=True)
    if not secured:
        typer.echo(INSECURE_WARNING.format(host=host, port=port), err=True)
    try:
        _tokens(token, None)  # refuse a bad token before any database is opened
    except ValueError as exc:
        typer.echo(f"error: cannot start the API: {redact(str(exc))}", err=True)
        raise typer.Exit(1) from exc
    ledger = open_ledger(db)  # a URL it cannot use: error: <problem>, exit 1
    try:
        from ..contract.policy import PolicyStore

        # As the executor and create_router build them: the file plus the ledger's
        # model configurations, so PUT /api/models/config takes effect.
        store = PolicyStore(policy, overrides=ledger.model_configurations)
        api = create_app(
            api_token=token, insecure_local=not secured, policy_store=store, ledger=ledger
        )
        api.mount("/", console_files(), name="console")  # after the API routes: they match first
    except Exception as exc:  # an invalid policy, an unreachable database
        ledger.close()
        typer.echo(f"error: cannot start the API: {redact(str(exc))}", err=True)
        raise typer.Exit(1) from exc
    uvicorn.run(api, host=host.strip("[]"), port=port, log_level="info")
