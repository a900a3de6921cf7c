"""``auterity-ai-step serve``: when it refuses to start, and one real start per mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import ADMIN_TOKEN, USER_TOKEN
from typer.testing import CliRunner

from auterity_ai_step.cli import app
from auterity_ai_step.cli.api_cmds import ServeRefused, check_serve_security, is_loopback

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTERITY_AI_API_TOKEN", raising=False)
    monkeypatch.delenv("AUTERITY_AI_ADMIN_TOKEN", raising=False)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST "]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.2", "10.0.0.1", "example.com", ""])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_a_token_always_means_authentication() -> None:
    assert check_serve_security("0.0.0.0", False, USER_TOKEN) is True
    assert check_serve_security("0.0.0.0", False, None, ADMIN_TOKEN) is True


@pytest.mark.parametrize(
    ("token", "admin", "named"),
    [
        (USER_TOKEN, None, "AUTERITY_AI_API_TOKEN is set"),
        (None, ADMIN_TOKEN, "AUTERITY_AI_ADMIN_TOKEN is set"),
        (USER_TOKEN, ADMIN_TOKEN, "AUTERITY_AI_API_TOKEN and AUTERITY_AI_ADMIN_TOKEN"),
    ],
)
def test_insecure_local_with_a_token_is_refused_not_ignored(
    token: str | None, admin: str | None, named: str
) -> None:
    with pytest.raises(ServeRefused, match=named) as refused:
        check_serve_security("127.0.0.1", True, token, admin)
    assert "drop --insecure-local" in str(refused.value)


def test_cli_refuses_insecure_local_with_only_the_admin_token() -> None:
    result = runner.invoke(
        app, ["serve", "--insecure-local"], env={"AUTERITY_AI_ADMIN_TOKEN": ADMIN_TOKEN}
    )
    assert result.exit_code == 2
    assert "AUTERITY_AI_ADMIN_TOKEN is set" in result.output


def test_no_token_needs_loopback_and_the_flag() -> None:
    assert check_serve_security("127.0.0.1", True, None) is False
    assert check_serve_security("::1", True, None) is False
    with pytest.raises(ServeRefused, match="AUTERITY_AI_API_TOKEN is not set"):
        check_serve_security("127.0.0.1", False, None)
    with pytest.raises(ServeRefused, match="only works on a loopback address"):
        check_serve_security("0.0.0.0", True, None)


def test_cli_refuses_without_token() -> None:
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "AUTERITY_AI_API_TOKEN is not set" in result.output


def test_cli_refuses_insecure_on_a_public_address() -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--insecure-local"])
    assert result.exit_code == 2
    assert "loopback" in result.output


def test_cli_refuses_a_short_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_AI_API_TOKEN", "short")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "at least 16 characters" in result.output


def test_cli_names_the_extra_without_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_AI_API_TOKEN", USER_TOKEN)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "pip install 'auterity-ai-step[api]'" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Environment and port for one real server; every process started is stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTERITY_AI_")}
    env["AUTERITY_AI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    yield _free_port(), env


def _start(port: int, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from auterity_ai_step.cli import main; main()",
            "serve",
            "--port",
            str(port),
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_up(port: int, process: subprocess.Popen[str], headers: dict[str, str]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            response = httpx.get(
                f"http://127.0.0.1:{port}/api/models/available", headers=headers, timeout=2
            )
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return response.status_code
    raise AssertionError("the server did not come up within 30 s")


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


def test_real_start_with_a_token(serve: tuple[int, dict[str, str]]) -> None:
    port, env = serve
    env["AUTERITY_AI_API_TOKEN"] = USER_TOKEN
    process = _start(port, env)
    try:
        assert _wait_up(port, process, {"Authorization": f"Bearer {USER_TOKEN}"}) == 200
        anonymous = httpx.get(f"http://127.0.0.1:{port}/api/models/available", timeout=2)
        assert anonymous.status_code == 401
    finally:
        err = _stop(process)
    assert "WITHOUT AUTHENTICATION" not in err


def test_real_insecure_local_start_warns(serve: tuple[int, dict[str, str]]) -> None:
    port, env = serve
    process = _start(port, env, "--host", "127.0.0.1", "--insecure-local")
    try:
        assert _wait_up(port, process, {}) == 200
    finally:
        err = _stop(process)
    assert "WARNING: serving WITHOUT AUTHENTICATION" in err


def test_real_start_with_policy_and_db_options(
    tmp_path: Path, serve: tuple[int, dict[str, str]]
) -> None:
    """``--policy`` and ``--db`` choose what the server serves, and a configuration it
    stores is the CLI's too (the same file plus the same ledger)."""
    port, env = serve
    env["AUTERITY_AI_API_TOKEN"] = USER_TOKEN
    env["AUTERITY_AI_ADMIN_TOKEN"] = ADMIN_TOKEN
    seed = Path(__file__).parents[2] / "policies" / "examples" / "original_task.yml"
    db = f"sqlite:///{tmp_path / 'chosen.db'}"
    process = _start(port, env, "--policy", str(seed), "--db", db)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    base = f"http://127.0.0.1:{port}/api/models"
    try:
        assert _wait_up(port, process, headers) == 200
        names = [
            m["name"] for m in httpx.get(f"{base}/available", headers=headers).json()["models"]
        ]
        assert names == ["gpt-3.5-turbo", "gpt-4", "llama2"]
        added = {"db-llama": {"provider": "ollama", "context_window": 4096}}
        put = httpx.put(f"{base}/config", headers=headers, json=added, timeout=10)
        assert put.status_code == 200, put.text
    finally:
        _stop(process)
    listed = runner.invoke(app, ["models", "--policy", str(seed), "--db", db])
    assert listed.exit_code == 0 and "db-llama" in listed.stdout


def test_serve_refuses_a_missing_policy_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    result = runner.invoke(
        app, ["serve", "--policy", str(missing)], env={"AUTERITY_AI_API_TOKEN": USER_TOKEN}
    )
    assert result.exit_code == 1
    assert "cannot start the API" in result.output and "missing.yml" in result.output
