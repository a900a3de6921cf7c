"""Bodies are refused before they are read: over real HTTP to a loopback ``serve``.

A 300 MB body, unauthenticated or over the limit, must be answered at once without the
server holding it. The client stops pushing after 64 MiB (a fifth of the body): a server
that reads before answering never answers in that time, and the test fails.
"""

from __future__ import annotations

import re
import select
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import ADMIN_TOKEN, USER_TOKEN
from test_serve_cli import _free_port, _start, _stop, _wait_up

BODY = 300 * 1024 * 1024
PUSH_CAP = 64 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """One real server (port, pid) with both tokens, on a fresh SQLite ledger."""
    import os

    tmp: Path = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTERITY_AI_")}
    env |= {
        "AUTERITY_AI_DATABASE_URL": f"sqlite:///{tmp / 'serve.db'}",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "AUTERITY_AI_API_TOKEN": USER_TOKEN,
        "AUTERITY_AI_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    port = _free_port()
    process: subprocess.Popen[str] = _start(port, env)
    try:
        assert _wait_up(port, process, {"Authorization": f"Bearer {USER_TOKEN}"}) == 200
        yield port, process.pid
    finally:
        _stop(process)


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match
    return int(match.group(1))


def _push(port: int, head: str, chunked: bool = False) -> tuple[bytes, int]:
    """Send ``head`` then body bytes until the server answers (or PUSH_CAP is reached);
    returns the answer and how many body bytes went out."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent, answer = 0, b""
    try:
        sock.sendall(head.encode())
        sock.setblocking(False)
        chunk = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
        while sent < PUSH_CAP:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if not writable:
                raise AssertionError("the server neither read nor answered for 30 s")
            try:
                sent += sock.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    finally:
        sock.close()
    return answer, sent


def _head(path: str, token: str | None, *, chunked: bool = False) -> str:
    method = "PUT" if path.endswith("/config") else "POST"
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY}")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return "\r\n".join(lines) + "\r\n\r\n"


@pytest.mark.parametrize(
    ("path", "token", "chunked", "status"),
    [
        ("/api/models/health-check", None, False, b"401"),
        ("/api/models/health-check", None, True, b"401"),
        ("/api/models/config", None, False, b"401"),
        ("/api/models/config", USER_TOKEN, False, b"403"),
        ("/api/models/health-check", USER_TOKEN, False, b"413"),
        ("/api/models/health-check", USER_TOKEN, True, b"413"),
        ("/api/models/config", ADMIN_TOKEN, False, b"413"),
        ("/api/models/config", ADMIN_TOKEN, True, b"413"),
        # The console's routes read their bodies the same way (never FastAPI first).
        ("/api/models/step/validate", None, False, b"401"),
        ("/api/models/step/estimate", None, True, b"401"),
        ("/api/models/step/try", None, False, b"401"),
        ("/api/models/step/validate", USER_TOKEN, True, b"413"),
        ("/api/models/step/estimate", USER_TOKEN, False, b"413"),
        ("/api/models/step/try", USER_TOKEN, False, b"413"),
        ("/api/models/whatif", None, False, b"401"),
        ("/api/models/whatif", USER_TOKEN, True, b"413"),
    ],
)
def test_a_300_mb_body_is_refused_without_being_read(
    server: tuple[int, int], path: str, token: str | None, chunked: bool, status: bytes
) -> None:
    port, pid = server
    rss_before = _rss_kib(pid)
    answer, sent = _push(port, _head(path, token, chunked=chunked), chunked)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert sent < PUSH_CAP, f"pushed {sent} bytes without an answer"
    grown_mib = (_rss_kib(pid) - rss_before) / 1024
    assert grown_mib < 32, f"server RSS grew by {grown_mib:.0f} MiB"
    print(f"{path} token={bool(token)} chunked={chunked}: {answer[:12]!r} after {sent} bytes")


def test_every_route_that_takes_a_body_is_covered_above() -> None:
    """A new POST or PUT route must read its body after auth: add it to the cases above."""
    from auterity_ai_step.api.router import create_app

    covered = {
        "/api/models/health-check",
        "/api/models/config",
        "/api/models/step/validate",
        "/api/models/step/estimate",
        "/api/models/step/try",
        "/api/models/whatif",
    }
    spec = create_app(insecure_local=True).openapi()
    with_body = {
        path for path, methods in spec["paths"].items() if {"post", "put", "patch"} & set(methods)
    }
    assert with_body == covered
