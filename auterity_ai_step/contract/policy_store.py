"""Loading a policy file and keeping the current policy fresh without a restart.

``PolicyStore.current()`` runs on every step, so it must be cheap: it stats the file at most
once per ``check_interval_s`` and re-parses only when the file (mtime, size, inode) or the
database overrides' version token changed. A new version that fails validation is refused
and logged; the last good policy stays in force.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import PolicyError
from .policy_model import Policy
from .policy_parse import parse_policy

__all__ = ["Overrides", "PolicyStore", "load_policy", "read_policy_file"]

logger = logging.getLogger("auterity_ai_step.policy")

Overrides = Callable[[], tuple[str, Mapping[str, Mapping[str, Any]]]]


def _resolve(path: str | os.PathLike[str] | None) -> Path:
    if path is not None:
        return Path(path)
    from ..settings import policy_path

    return Path(policy_path())


def read_policy_file(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The YAML (or JSON) document at ``path``; PolicyError if unreadable or not a mapping."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read model policy {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"model policy {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise PolicyError(f"model policy {path} must be a mapping at the top level")
    return data


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load and validate a policy file; ``None`` means ``settings.policy_path()``."""
    resolved = _resolve(path)
    return parse_policy(read_policy_file(resolved), source=str(resolved))


class PolicyStore:
    """The current policy, re-read when its file or the database overrides change.

    Thread-safe: readers get whole Policy objects, swapped under a lock. ``last_error``
    holds why the latest candidate version was refused (None once a version is accepted).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        overrides: Overrides | None = None,
        check_interval_s: float = 0.05,
    ) -> None:
        self._path: Path | None = _resolve(path)
        self._overrides = overrides
        self._interval = check_interval_s
        self._lock = threading.Lock()
        self._next_check = 0.0
        self._file_key: tuple[int, int, int] | None = None
        self._token: str | None = None
        self.last_error: str | None = None
        self._policy = self._load_initial()

    @classmethod
    def fixed(cls, policy: Policy) -> PolicyStore:
        """A store that always returns ``policy`` (tests, hosts that manage reloads)."""
        store = cls.__new__(cls)
        store._path = None
        store._overrides = None
        store._interval = float("inf")
        store._lock = threading.Lock()
        store._next_check = float("inf")
        store._file_key = None
        store._token = None
        store.last_error = None
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

    def _stat_key(self) -> tuple[int, int, int] | None:
        assert self._path is not None
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _read_overrides(self) -> tuple[str | None, Mapping[str, Mapping[str, Any]] | None]:
        if self._overrides is None:
            return None, None
        return self._overrides()

    def _parse(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> Policy:
        assert self._path is not None
        return parse_policy(
            read_policy_file(self._path), source=str(self._path), overrides=overrides
        )

    def _load_initial(self) -> Policy:
        self._file_key = self._stat_key()
        self._token, overrides = self._read_overrides()
        policy = self._parse(overrides)
        self._next_check = time.monotonic() + self._interval
        return policy

    def current(self) -> Policy:
        """The policy in force; cheap enough to call on every step."""
        now = time.monotonic()
        if now < self._next_check:
            return self._policy
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
                self._refresh()
            return self._policy

    def _refresh(self) -> None:
        key = self._stat_key()
        try:
            token, overrides = self._read_overrides()
        except Exception as exc:  # a database hiccup must not stop the steps
            self._refuse(f"cannot read model configuration overrides: {exc}")
            return
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
        self.last_error = None
        logger.info("model policy reloaded from %s (version %s)", self._path, policy.version)

    def _refuse(self, reason: str) -> None:
        self.last_error = reason
        logger.warning(
            "model policy change refused, keeping version %s: %s", self._policy.version, reason
        )
