"""Reading a policy file: YAML (or JSON) to a validated ``Policy``.

Pure apart from the one file read, so the contract layer owns it; keeping the current
policy fresh (``PolicyStore``) is the core's job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import PolicyError, redact
from .policy_model import Policy
from .policy_parse import parse_policy

__all__ = ["YAML_LOADER", "load_policy", "read_policy_file", "resolve_policy_path"]

#: libyaml's parser when PyYAML was built with it (about 9x faster on the bundled policy,
#: so a reload holds the interpreter for ~1 ms, not ~10 ms); the pure-Python one otherwise.
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def resolve_policy_path(path: str | os.PathLike[str] | None) -> Path:
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
        data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 (a safe loader, C or Python)
    except yaml.YAMLError as exc:
        # The parser quotes the offending line, which may hold a pasted key.
        raise PolicyError(f"model policy {path} is not valid YAML: {redact(str(exc))}") from exc
    if not isinstance(data, Mapping):
        raise PolicyError(f"model policy {path} must be a mapping at the top level")
    return data


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Load and validate a policy file; ``None`` means ``settings.policy_path()``."""
    resolved = resolve_policy_path(path)
    return parse_policy(read_policy_file(resolved), source=str(resolved))
