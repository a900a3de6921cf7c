"""Which tracer and instruments the hooks use, and the switch that mutes them.

By default the global providers (``opentelemetry.trace`` / ``opentelemetry.metrics``):
whatever the host configures, before or after import, is used; with none configured the
API's no-op implementations make every hook nearly free. :func:`instrument` binds other
providers (tests, ``serve``'s Prometheus endpoint).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace

from .metrics import Instruments

__all__ = ["Telemetry", "current", "instrument", "muted", "reset"]

SCOPE = "auterity_ai_step"


@dataclass(frozen=True)
class Telemetry:
    tracer: trace.Tracer
    instruments: Instruments


_bound: Telemetry | None = None
_explicit = False  # instrument() was given a provider: record whatever the globals are
# The API's stand-ins while no SDK is configured (proxies) or when it is turned off.
_STAND_INS = frozenset(
    {"ProxyTracerProvider", "NoOpTracerProvider", "_ProxyMeterProvider", "NoOpMeterProvider"}
)
_muted: contextvars.ContextVar[bool] = contextvars.ContextVar("auterity_ai_muted", default=False)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("auterity-ai-step")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def instrument(tracer_provider: Any = None, meter_provider: Any = None) -> Telemetry:
    """Bind the hooks to these providers (None: the global one of each kind).

    Instruments are created once per call: call this at start-up, not per step.
    """
    global _bound, _explicit
    _explicit = tracer_provider is not None or meter_provider is not None
    tracers = tracer_provider or trace.get_tracer_provider()
    meters = meter_provider or metrics.get_meter_provider()
    bound = Telemetry(
        tracer=tracers.get_tracer(SCOPE, _version()),
        instruments=Instruments(meters.get_meter(SCOPE, _version())),
    )
    _bound = bound
    return bound


def reset() -> None:
    """Back to the global providers (bound again at the next hook)."""
    global _bound, _explicit
    _bound, _explicit = None, False


def current() -> Telemetry | None:
    """What the hooks record to now; None inside :func:`muted`, and None while neither
    global provider is a real one (no SDK configured yet: nothing would be recorded, so
    the hooks skip even the no-op calls). Checked per call: an SDK configured later counts."""
    if _muted.get():
        return None
    if not _explicit and _no_sdk():
        return None
    return _bound or instrument()


def _no_sdk() -> bool:
    tracers = type(trace.get_tracer_provider()).__name__
    meters = type(metrics.get_meter_provider()).__name__
    return tracers in _STAND_INS and meters in _STAND_INS


@contextmanager
def muted() -> Iterator[None]:
    """Record nothing in this context (the console's practice runs on a scratch ledger)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)
