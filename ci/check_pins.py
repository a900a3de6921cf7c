"""Fail if any ``name==version`` line of a constraints file is not what is installed.

``pip install -c`` only constrains what it installs; this proves the venv really holds the
host's pins for every package the plugin pulled in (packages not installed are skipped).
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)==([^\s#]+)")


def main(path: str) -> int:
    drifted = []
    held = []
    for line in Path(path).read_text().splitlines():
        match = PIN.match(line)
        if not match:
            continue
        name, wanted = match.groups()
        try:
            found = version(name)
        except PackageNotFoundError:
            continue
        (held if found == wanted else drifted).append(f"{name} {wanted} (installed {found})")
    print("pins held:", ", ".join(held) or "none")
    if drifted:
        print("pins moved:", ", ".join(drifted))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
