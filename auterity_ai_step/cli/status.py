"""A live status line on stderr while a command waits (LiteLLM's import, health checks).

It appears only when a wait lasts over :data:`DELAY_S`, only when stderr is a terminal,
and never with ``--quiet``: piped output, logs and CI stay exactly as before. Lines added
with :meth:`LiveStatus.note` (one per model as its health check answers) print above the
spinner and stay on the screen.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.status import Status

__all__ = ["DELAY_S", "LiveStatus"]

DELAY_S = 0.5


class LiveStatus:
    """What the command is doing, on stderr; silent when ``quiet`` or not a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self._console = None if quiet or not sys.stderr.isatty() else Console(stderr=True)
        self._waiting: Status | None = None  # the one the timer may start
        self._status: Status | None = None  # the one on screen
        self._lock = threading.Lock()

    @contextmanager
    def showing(self, text: str) -> Iterator[None]:
        """Show ``text`` with a spinner if the block takes longer than :data:`DELAY_S`."""
        if self._console is None:
            yield
            return
        status = Status(text, console=self._console, spinner="dots")
        self._waiting = status
        timer = threading.Timer(DELAY_S, self._start, (status,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            with self._lock:
                self._waiting = None
                if self._status is not None:
                    self._status.stop()
                self._status = None

    def _start(self, status: Status) -> None:
        with self._lock:
            if self._waiting is status:  # the block has not ended meanwhile
                self._status = status
                status.start()

    def update(self, text: str) -> None:
        """Change the text of the status being shown (if any)."""
        with self._lock:
            if self._status is not None:
                self._status.update(text)

    def note(self, line: str) -> None:
        """A line that stays above the spinner (only on a terminal, never with --quiet)."""
        if self._console is not None:
            self._console.print(line, markup=False, highlight=False)
