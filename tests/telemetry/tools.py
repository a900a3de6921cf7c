"""Finding Debian's Prometheus binaries: skipped outside CI when missing, a failure in CI."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def binary(name: str) -> str:
    """The path of ``name`` (``prometheus``, ``promtool``); .ci/run installs them."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (apt-get install prometheus)"
        if IN_CI:
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return found
