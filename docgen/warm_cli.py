"""A warm ``auterity-ai-step``: the docs' commands start in milliseconds, not seconds.

Every page runs dozens of ``auterity-ai-step ...`` commands, and each cold start imports
LiteLLM (seconds on a busy machine). :class:`WarmCLI` starts one server process that has
imported the CLI and LiteLLM once; a tiny shim named ``auterity-ai-step``, first on the
page's ``PATH``, hands the server its argv, working directory, environment and its own
stdin/stdout/stderr (file descriptors, over a Unix socket). The server forks a child that
takes those over and runs the CLI's ``main()`` exactly as the console script does, then
reports the exit status; the shim exits with it and forwards SIGINT/SIGTERM/SIGHUP to the
child (background commands such as ``serve`` are stopped that way). A child whose shim
is gone (SIGKILL) ends itself, so no command outlives its page.

So each command still runs in its own process, with the page's environment, cwd, pipes and
exit status: only the imports (and the tokenizers' encodings) are already done. A command
ends as at a normal exit (its threads joined, ``atexit`` hooks run, streams flushed), but
without tearing down the modules it inherited: in a forked child that teardown copies every
page it touches and cost about a second per command. Other programs (``python``, ``alembic``,
``uvicorn``, ``curl``) are not touched.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

__all__ = ["WarmCLI"]

COMMAND = "auterity-ai-step"
_HEADER = 8

SHIM = textwrap.dedent(
    """\
    #!{python} -IS
    # The page's `auterity-ai-step`: runs the command in the warm CLI server (docgen.warm_cli).
    import json, os, signal, socket, sys
    sock = socket.socket(socket.AF_UNIX)
    sock.connect({socket_path!r})
    body = json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}})
    data = body.encode()
    socket.send_fds(sock, [len(data).to_bytes({header}, "big")], [0, 1, 2])
    sock.sendall(data)
    reader = sock.makefile("rb")
    pid = int(reader.readline())
    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    status = reader.readline()
    sys.exit(int(status) if status.strip() else 128 + signal.SIGKILL)
    """
)


class WarmCLI:
    """The server and its shim directory; put :attr:`bin_dir` first on a page's PATH."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="docgen-warm-")
        root = Path(self._tmp.name)
        self.socket_path = str(root / "cli.sock")
        self.bin_dir = root / "bin"
        self.bin_dir.mkdir()
        shim = self.bin_dir / COMMAND
        shim.write_text(
            SHIM.format(python=sys.executable, socket_path=self.socket_path, header=_HEADER)
        )
        shim.chmod(0o755)
        self._server: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        """Start the server with the reader's base environment (ready when this returns)."""
        self._server = subprocess.Popen(
            [sys.executable, "-m", "docgen.warm_cli", self.socket_path],
            env=env,
            cwd=str(Path(__file__).resolve().parents[1]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._server.stdout is not None
        if self._server.stdout.readline().strip() != b"ready":
            raise RuntimeError("the warm CLI server did not start")

    def close(self) -> None:
        if self._server is not None and self._server.poll() is None:
            self._server.terminate()
            self._server.wait(10)
        self._tmp.cleanup()


# -- the server (python -m docgen.warm_cli SOCKET) -------------------------------------------


def _serve(socket_path: str) -> None:
    import auterity_ai_step.cli as cli
    from auterity_ai_step.routing import gateway

    gateway._lib()  # the import every run, health and serve command would pay
    cli.load_commands()  # every family module, which main() would import per command
    _preload()
    server = socket.socket(socket.AF_UNIX)
    server.bind(socket_path)
    server.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    gc.freeze()  # the server's objects stay out of the children's collections (no copying)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            _child(conn, cli.main)  # never returns
        conn.close()


def _preload() -> None:
    """Imports and one-time loads the pages' commands would each pay again after the fork.

    Only libraries and read-only data: the ledger, the policy and every setting are still
    read by each command from its own environment and working directory."""
    import aiohttp.web  # noqa: F401  (simulate)
    import alembic.command  # noqa: F401  (every ledger's first open)
    import jinja2.sandbox  # noqa: F401
    import jsonschema  # noqa: F401
    import litellm

    import auterity_ai_step.api  # (serve)
    import auterity_ai_step.store.migrations  # noqa: F401

    for model in ("gpt-4o-mini", "gpt-3.5-turbo", "claude-3-5-haiku-20241022"):
        litellm.token_counter(model=model, text="warm")  # the tokenizers' encodings


def _child(conn: socket.socket, main: object) -> None:
    import json
    import random

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    os.setsid()
    random.seed()
    header, fds, _, _ = socket.recv_fds(conn, _HEADER, 3)
    size = int.from_bytes(header, "big")
    data = b""
    while len(data) < size:
        data += conn.recv(size - len(data))
    request = json.loads(data)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [COMMAND, *request["argv"]]
    conn.sendall(f"{os.getpid()}\n".encode())

    finished = threading.Event()

    def watch() -> None:  # the shim was killed: end as it would have
        conn.recv(1)
        if not finished.is_set():
            os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()
    code = 0
    try:
        main()  # type: ignore[operator]
    except SystemExit as done:
        code = _exit_status(done.code)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    _finish()
    finished.set()
    conn.sendall(f"{code}\n".encode())
    os._exit(code)


def _finish() -> None:
    """What the interpreter does at exit that a command can see, without the teardown.

    Joining the command's own threads and the ``atexit`` hooks run as at a normal exit.
    Tearing down the modules is skipped: in a forked child it writes to every inherited
    page (copy-on-write), about a second per command, and nothing of it reaches the page."""
    threading_shutdown = getattr(threading, "_shutdown", None)
    if threading_shutdown is not None:
        threading_shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: the reader stopped reading
            stream.flush()


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    _serve(sys.argv[1])
