"""Keeping the current policy fresh without a restart: the core's policy source.

``PolicyStore.current()`` runs on every step, so it must be cheap: it stats the file at most
once per ``check_interval_s`` and re-parses only when the file (mtime, size, inode) or the
database overrides' version token changed. A new version that fails validation is refused
and logged; the last good policy stays in force.

Overrides that cannot be read (the database is down) are not a new version: the store keeps
its policy (or starts on the file alone), logs the failure once, retries the read at most
every ``override_retry_s``, and logs once more when the overrides can be read again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import nowait
from ..contract.policy_file import read_policy_file, resolve_policy_path
from ..contract.policy_model import Policy
from ..contract.policy_parse import parse_policy
from ..errors import PolicyError, redact

if TYPE_CHECKING:
    import logging

__all__ = ["Overrides", "PolicyStore"]


@cache
def _logger() -> logging.Logger:
    """The ``auterity_ai_step.policy`` logger. logging loads with the first line logged: a
    command that reads the policy once (``validate``, ``schema``) logs none."""
    import logging

    return logging.getLogger("auterity_ai_step.policy")


Overrides = Callable[[], tuple[str, Mapping[str, Mapping[str, Any]]]]


class PolicyStore:
    """The current policy, re-read when its file or the database overrides change.

    Thread-safe: readers get whole Policy objects, swapped under a lock. ``last_error``
    holds why the latest candidate version was refused (None once a version is accepted),
    or, while they cannot be read, why the overrides cannot (``overrides_error``).

    The overrides (``overrides=``, such as ``ledger.model_configurations``) need not be
    readable at start: when the database is unreachable the store starts on the file alone
    with one WARNING, and applies the overrides once they can be read. While reads fail
    they are retried at most every ``override_retry_s`` seconds (``reload()`` retries at
    once), so a step does not wait for a dead database; a changed file is applied meanwhile
    with the overrides last read.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        overrides: Overrides | None = None,
        check_interval_s: float = 0.05,
        override_retry_s: float = 5.0,
    ) -> None:
        self._path: Path | None = resolve_policy_path(path)
        self._overrides = overrides
        self._interval = check_interval_s
        self._retry_s = override_retry_s
        self._lock = threading.Lock()
        self._next_check = 0.0
        self._file_key: tuple[int, int, int] | None = None
        self._token: str | None = None
        self._configs: Mapping[str, Mapping[str, Any]] | None = None
        self._read_error: str | None = None
        self._next_read = 0.0
        self._refused: str | None = None
        self._policy = self._load_initial()

    @classmethod
    def fixed(cls, policy: Policy) -> PolicyStore:
        """A store that always returns ``policy`` (tests, hosts that manage reloads)."""
        store = cls.__new__(cls)
        store._path = None
        store._overrides = None
        store._interval = float("inf")
        store._retry_s = float("inf")
        store._lock = threading.Lock()
        store._next_check = float("inf")
        store._file_key = None
        store._token = None
        store._configs = None
        store._read_error = None
        store._next_read = float("inf")
        store._refused = None
        store._policy = policy
        return store

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def reads_overrides(self) -> bool:
        """Whether this store applies database overrides (was built with ``overrides=``).

        Only then does a change to the ledger's ``model_configurations`` reach the policy.
        """
        return self._overrides is not None

    @property
    def last_error(self) -> str | None:
        """Why the overrides cannot be read now, else why the latest candidate version was
        refused; ``None`` when neither."""
        if self._read_error is not None:
            return f"cannot read model configuration overrides: {self._read_error}"
        return self._refused

    @property
    def overrides_error(self) -> str | None:
        """Why the database overrides could not be read at the latest try (redacted);
        ``None`` once they can be, and for a store without overrides."""
        return self._read_error

    def _stat_key(self) -> tuple[int, int, int] | None:
        assert self._path is not None
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _parse(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> Policy:
        assert self._path is not None
        return parse_policy(
            read_policy_file(self._path), source=str(self._path), overrides=overrides
        )

    def _load_initial(self) -> Policy:
        self._file_key = self._stat_key()
        failure: Exception | None = None
        if self._overrides is not None:
            try:
                self._token, self._configs = self._overrides()
            except Exception as exc:  # a database outage must not stop the host starting
                failure = exc
        policy = self._parse(self._configs)
        if failure is not None:
            self._read_error = _reason(failure)
            self._next_read = time.monotonic() + self._retry_s
            _logger().warning(
                "cannot read model configuration overrides at start (using policy version %s "
                "from %s alone until they can be read): %s",
                policy.version,
                self._path,
                self._read_error,
            )
        self._next_check = time.monotonic() + self._interval
        return policy

    def current(self) -> Policy:
        """The policy in force; cheap enough to call on every step.

        A due check (a stat, maybe a re-read of the file and the overrides) may wait; the
        engine, which first tries this on its event loop, then reads it in a worker thread
        (``auterity_ai_step.nowait``)."""
        now = time.monotonic()
        if now < self._next_check:
            return self._policy
        nowait.check()
        with self._lock:
            if now < self._next_check:
                return self._policy
            self._next_check = now + self._interval
            self._refresh()
            return self._policy

    def reload(self) -> Policy:
        """Check for changes now, whatever the interval (admin actions, tests)."""
        with self._lock:
            if self._path is not None:
                self._refresh(force=True)
            return self._policy

    def _read_overrides(
        self, *, force: bool
    ) -> tuple[str | None, Mapping[str, Mapping[str, Any]] | None]:
        """The overrides' (token, configs); the last ones read while reads keep failing."""
        if self._overrides is None:
            return None, None
        if self._read_error is not None and not force and time.monotonic() < self._next_read:
            return self._token, self._configs
        try:
            token, configs = self._overrides()
        except Exception as exc:  # a database hiccup must not stop the steps
            self._read_failed(exc)
            return self._token, self._configs
        if self._read_error is not None:
            self._read_error = None
            _logger().info(
                "model configuration overrides can be read again (policy version %s)",
                self._policy.version,
            )
        self._configs = configs
        return token, configs

    def _read_failed(self, exc: Exception) -> None:
        """Back off, and log the failure unless it is the one already logged."""
        self._next_read = time.monotonic() + self._retry_s
        reason = _reason(exc)
        if reason == self._read_error:
            return
        self._read_error = reason
        _logger().warning(
            "cannot read model configuration overrides (keeping policy version %s): %s",
            self._policy.version,
            reason,
        )

    def _refresh(self, *, force: bool = False) -> None:
        key = self._stat_key()
        token, overrides = self._read_overrides(force=force)
        if key == self._file_key and token == self._token:
            return
        try:
            policy = self._parse(overrides)
        except PolicyError as exc:
            self._file_key, self._token = key, token  # do not re-parse the same bad version
            self._refuse("; ".join(exc.errors) if exc.errors else str(exc))
            return
        self._file_key, self._token = key, token
        self._policy = policy
        self._refused = None
        _logger().info("model policy reloaded from %s (version %s)", self._path, policy.version)

    def _refuse(self, reason: str) -> None:
        self._refused = reason
        _logger().warning(
            "model policy change refused, keeping version %s: %s", self._policy.version, reason
        )


def _reason(exc: BaseException) -> str:
    """One line saying why a read failed, without credentials (API keys, URL passwords)."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return exc.__class__.__name__
    return redact(lines[0].strip())
