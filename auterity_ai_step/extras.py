"""Optional extras: which one provides a missing module, and the command that installs it.

``pip install auterity-ai-step`` leaves out what only some users need (``[postgres]`` for
psycopg, ``[api]`` for FastAPI and uvicorn, ...). When one of those imports fails, the user
needs the install command, not ``No module named 'psycopg'``. The extras are read from the
package's own metadata, so an extra added to ``pyproject.toml`` is known here at once.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["DISTRIBUTION", "extra_for_module", "install_command", "missing_extra_message"]

DISTRIBUTION = "auterity-ai-step"
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*).*extra\s*==\s*['\"]([\w-]+)['\"]")
_NOT_FOR_USERS = {"dev", "docs"}


@cache
def _extras() -> dict[str, str]:
    """Top-level module name -> extra, for every optional requirement of the package."""
    from importlib import metadata  # ~0.1 s to import: only when an extra is missing

    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # running from a source tree without metadata
        requires = []
    found: dict[str, str] = {}
    for line in requires:
        match = _REQUIREMENT.match(line)
        if match and match[2] not in _NOT_FOR_USERS:
            name = match[1].lower()
            for module in {name.replace("-", "_"), name.split("-")[0], name.replace("-", ".")}:
                found.setdefault(module, match[2])
    return found


def install_command(extra: str) -> str:
    """``pip install 'auterity-ai-step[EXTRA]'`` (quoted for every shell)."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def extra_for_module(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name is fine), or None."""
    if not module:
        return None
    top = module.split(".")[0].lower()
    return _extras().get(top)


def missing_extra_message(exc: ImportError, needed_for: str, extra: str | None = None) -> str:
    """``<needed_for> needs <module>, which is not installed: pip install '...[extra]'``.

    ``extra`` is found from the module that failed to import unless given.
    """
    module = exc.name or ""
    extra = extra or extra_for_module(module)
    what = module.split(".")[0] if module else "an optional package"
    if extra is None:
        return f"{needed_for} needs {what}, which is not installed ({exc})"
    return f"{needed_for} needs {what}, which is not installed: {install_command(extra)}"
