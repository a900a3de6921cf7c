"""Loopback names: what a server started without authentication may answer to.

``serve --insecure-local`` binds to loopback only; the API then also checks the ``Host``
and ``Origin`` of each request with these functions, because a browser tricked by DNS
rebinding sends a loopback-bound request with the attacker's name in both.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["host_name", "is_loopback"]


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and any address in 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(value: str | None, *, url: bool = False) -> str | None:
    """The host name of a ``Host`` header (``name[:port]``) or, with ``url``, of a URL such
    as an ``Origin`` header; None when there is none or it cannot be parsed."""
    if not value:
        return None
    try:
        parts = urlsplit(value if url else f"//{value}")
        _ = parts.port  # a malformed port raises here
    except ValueError:
        return None
    return parts.hostname
