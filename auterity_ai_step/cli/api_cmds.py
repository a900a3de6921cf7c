"""``serve``: the model management API as its own server (uvicorn), for use outside Auterity.

It never starts open to the network: without ``AUTERITY_AI_API_TOKEN`` or
``AUTERITY_AI_ADMIN_TOKEN`` it runs only when bound to loopback (127.0.0.0/8, ::1,
localhost) and told so with ``--insecure-local``; it then answers only requests addressed
to a loopback name. Either token keeps authentication on, and ``--insecure-local`` is then
refused rather than ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from ..errors import redact
from ..extras import missing_extra_message
from ..loopback import is_loopback
from ..settings import ALLOWED_API_BASES_ENV, ALLOWED_KEY_ENVS_ENV
from .contract_cmds import DbOption, PolicyOption, open_ledger
from .root import app

__all__ = ["ServeRefused", "check_serve_security", "is_loopback", "metrics_endpoint", "serve"]

TOKEN_ENV = "AUTERITY_AI_API_TOKEN"  # noqa: S105 - a variable name, not a secret
ADMIN_TOKEN_ENV = "AUTERITY_AI_ADMIN_TOKEN"  # noqa: S105
INSECURE_WARNING = (
    "WARNING: serving WITHOUT AUTHENTICATION (--insecure-local): anyone who can reach "
    "{host}:{port} on this machine can read usage and change model configurations."
)


class ServeRefused(Exception):
    """The server would start insecurely; the message says how to start it safely."""


def check_serve_security(
    host: str, insecure_local: bool, token: str | None, admin_token: str | None = None
) -> bool:
    """Whether authentication is on; ServeRefused when the combination is unsafe.

    A token always means authentication; asking for ``--insecure-local`` as well is
    refused (the tokens would otherwise be silently ignored, or the flag). Without one,
    only a loopback bind with the explicit flag may start, without authentication.
    """
    if token or admin_token:
        if insecure_local:
            names = " and ".join(
                name for name, v in ((TOKEN_ENV, token), (ADMIN_TOKEN_ENV, admin_token)) if v
            )
            raise ServeRefused(
                f"--insecure-local turns authentication off, but {names} is set: drop "
                f"--insecure-local to serve with the token(s), or unset {names} to serve "
                "without authentication on loopback"
            )
        return True
    if not insecure_local:
        raise ServeRefused(
            f"{TOKEN_ENV} is not set. Set it to a long random token (clients then send "
            f"'Authorization: Bearer <token>'; set {ADMIN_TOKEN_ENV} too for /config), or, "
            f"for local development only, bind to 127.0.0.1 and pass --insecure-local."
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
    allow_key_env: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-key-env",
            help="A key variable stored model configurations (PUT /config) may name besides "
            "the policy file's own; repeat for more. Adds to $AUTERITY_AI_ALLOWED_KEY_ENVS.",
        ),
    ] = None,
    allow_api_base: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-api-base",
            help="An http(s) API base (and the paths below it) stored model configurations "
            "may call besides the policy file's own; repeat for more. Adds to "
            "$AUTERITY_AI_ALLOWED_API_BASES.",
        ),
    ] = None,
) -> None:
    """Serve the model management API (/api/models, docs at /docs) and the web console (/)."""
    _allow_more_configurations(allow_key_env, allow_api_base)
    token, admin_token, secured = _authentication(host, insecure_local)
    uvicorn = _server_modules()
    if not secured:
        typer.echo(INSECURE_WARNING.format(host=host, port=port), err=True)
    api = _build_app(token, admin_token, secured, policy, db)
    uvicorn.run(api, host=host.strip("[]"), port=port, log_level="info")


def _allow_more_configurations(
    allow_key_env: list[str] | None, allow_api_base: list[str] | None
) -> None:
    """Add the flags' key variables and API bases to what stored configurations may use."""
    for base in allow_api_base or ():
        if not base.lower().startswith(("http://", "https://")):
            typer.echo(f"error: --allow-api-base {base!r}: must be an http(s) URL", err=True)
            raise typer.Exit(2)
    for env_name, added in (
        (ALLOWED_KEY_ENVS_ENV, allow_key_env),
        (ALLOWED_API_BASES_ENV, allow_api_base),
    ):
        if added:  # read by every policy parse in this process, the executor's too
            os.environ[env_name] = " ".join([os.environ.get(env_name, ""), *added]).strip()


def _authentication(host: str, insecure_local: bool) -> tuple[str | None, str | None, bool]:
    """(API token, admin token, whether authentication is on); exit 2 when unsafe."""
    token = os.environ.get(TOKEN_ENV, "").strip() or None
    admin_token = os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None
    try:
        secured = check_serve_security(host, insecure_local, token, admin_token)
    except ServeRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return token, admin_token, secured


def metrics_endpoint(ledger: Any, store: Any) -> Any:
    """``serve``'s ``/metrics`` (``core.budget_gauges.prometheus_metrics``); None, said on
    stderr, without the otel extra."""
    from ..core.budget_gauges import prometheus_metrics

    try:
        return prometheus_metrics(ledger, store)
    except ImportError as exc:
        typer.echo(f"note: no /metrics: {exc}", err=True)
        return None


def _server_modules() -> ModuleType:
    """uvicorn, once the API's own imports are known to work; exit 1 naming the extra."""
    try:
        import uvicorn

        from ..api import console, router  # noqa: F401 - FastAPI and the console's files
    except ImportError as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, ImportError) else exc
        typer.echo(f"error: {missing_extra_message(cause, 'serve', 'api')}", err=True)
        raise typer.Exit(1) from exc
    return uvicorn


def _build_app(
    token: str | None, admin_token: str | None, secured: bool, policy: Path | None, db: str | None
) -> Any:
    """The API with the console mounted at ``/``; exit 1 saying why it cannot start."""
    from ..api.auth import tokens
    from ..api.console import console_files
    from ..api.router import create_app
    from ..core.runtime import Runtime

    try:
        tokens(token, admin_token)  # refuse a bad token before any database is opened
    except ValueError as exc:
        typer.echo(f"error: cannot start the API: {redact(str(exc))}", err=True)
        raise typer.Exit(1) from exc
    ledger = open_ledger(db)  # a URL it cannot use: error: <problem>, exit 1
    try:
        # As the executor and create_router build them: the file plus the ledger's
        # model configurations, so PUT /api/models/config takes effect.
        runtime = Runtime.open(policy_path=policy, ledger=ledger)
        api = create_app(
            api_token=token,
            admin_token=admin_token,
            insecure_local=not secured,
            policy_store=runtime.policy_store,
            ledger=runtime.ledger,
            monitor=runtime.monitor,
            metrics=metrics_endpoint(runtime.ledger, runtime.policy_store),
        )
        api.mount("/", console_files(), name="console")  # after the API routes: they match first
    except Exception as exc:  # an invalid policy, an unreachable database
        ledger.close()
        typer.echo(f"error: cannot start the API: {redact(str(exc))}", err=True)
        raise typer.Exit(1) from exc
    return api
