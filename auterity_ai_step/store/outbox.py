"""The ledger's outbox: rows for paid calls that the database could not take right now.

Each pending write is one JSON line in a spool file (shared by the processes that use the
same database, guarded by an advisory lock) and, if even the file cannot be written, kept in
memory. Entries are replayed in order when the database is back; replays are idempotent
because usage rows carry a client-made id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

try:  # POSIX advisory locks; elsewhere the lock is in-process only.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Outbox"]

log = logging.getLogger("auterity_ai_step.store")


class Outbox:
    """Append-only spool of pending ledger writes, replayed by :meth:`drain`."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        #: Entries the last :meth:`drain` kept because the database refused them (not gone).
        self.refused = 0

    def _open(self) -> IO[str] | None:
        """The spool file, locked; ``None`` (memory only) when there is none or it fails."""
        if self.path is None:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - closed by _locked
        except OSError as exc:
            log.error("ledger outbox %s unusable (%s); pending rows kept in memory", self.path, exc)
            return None
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    @contextlib.contextmanager
    def _locked(self) -> Iterator[IO[str] | None]:
        """Hold the in-process lock and, with a file, an exclusive lock on it."""
        with self._lock:
            handle = self._open()
            try:
                yield handle
            finally:
                if handle is not None:
                    if fcntl is not None:
                        fcntl.flock(handle, fcntl.LOCK_UN)
                    handle.close()

    def add(self, entry: dict[str, Any]) -> None:
        """Keep one pending write; durable on disk when the spool file can be written."""
        line = json.dumps(entry, sort_keys=True)
        with self._locked() as handle:
            if handle is not None:
                try:
                    handle.write(line + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                    return
                except OSError as exc:
                    log.error(
                        "ledger outbox %s not writable (%s); row kept in memory", self.path, exc
                    )
            self._memory.append(entry)

    def has_pending(self) -> bool:
        """Cheap check (one stat) used before every write."""
        if self._memory:
            return True
        try:
            return self.path is not None and self.path.stat().st_size > 0
        except OSError:
            return False

    def drain(
        self,
        apply: Callable[[dict[str, Any]], None],
        *,
        stop: Callable[[Exception], bool] = lambda exc: True,
    ) -> int:
        """Replay pending writes in order; keep the ones that fail.

        Returns how many were written. When ``apply`` raises an exception for which
        ``stop`` is true (the database is gone) that entry and all later ones stay pending,
        so the order of writes is kept; any other failure keeps only that entry (with the
        reason it failed) and goes on, so one write the database refuses cannot hold back
        the others.
        """
        done = 0
        refused = 0
        with self._locked() as handle:
            entries = list(self._memory)
            if handle is not None:
                handle.seek(0)
                entries.extend(json.loads(line) for line in handle.read().splitlines() if line)
            remaining: list[dict[str, Any]] = []
            for index, entry in enumerate(entries):
                try:
                    apply(entry)
                except Exception as exc:
                    if stop(exc):
                        remaining.extend(entries[index:])
                        break
                    remaining.append({**entry, "reason": _reason(exc)})
                    refused += 1
                    continue
                done += 1
            self.refused = refused
            self._memory = [] if handle is not None else remaining
            if handle is not None:
                handle.seek(0)
                handle.truncate()
                handle.writelines(json.dumps(e, sort_keys=True) + "\n" for e in remaining)
                handle.flush()
                os.fsync(handle.fileno())
        return done

    def entries(self) -> list[dict[str, Any]]:
        """The pending writes (memory, then file), oldest first: for inspection."""
        with self._locked() as handle:
            found = list(self._memory)
            if handle is not None:
                handle.seek(0)
                found.extend(json.loads(line) for line in handle.read().splitlines() if line)
            return found

    def pending(self) -> int:
        """How many writes wait (memory + file)."""
        with self._locked() as handle:
            count = len(self._memory)
            if handle is not None:
                handle.seek(0)
                count += sum(1 for line in handle.read().splitlines() if line)
            return count


def _reason(exc: Exception) -> str:
    """The first line of a failure, for the entry it kept pending."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line for line in str(orig).splitlines() if line.strip()]
    return f"{type(orig).__name__}: {lines[0].strip()}" if lines else type(orig).__name__
