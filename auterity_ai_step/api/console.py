"""The web console's files: the built console (``console_dist/``) as an ASGI app.

``serve`` mounts :func:`console_files` at ``/``; a host may mount it wherever it likes
beside the router. The routes the console reads beyond the model management ones live in
``routes_usage`` (usage per day, performance, budget), ``routes_steps`` (validate,
estimate, try) and ``routes_status`` (live status and its event stream).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi.staticfiles import StaticFiles

__all__ = ["CONSOLE_DIR", "console_files"]

#: The built console inside the package (``npm run build`` in ``web/`` writes it).
CONSOLE_DIR = Path(str(files("auterity_ai_step") / "console_dist"))


def console_files() -> StaticFiles:
    """The built console as an ASGI app (``index.html`` at its root)."""
    return StaticFiles(directory=CONSOLE_DIR, html=True, check_dir=False)
