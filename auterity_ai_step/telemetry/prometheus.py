"""``/metrics`` for ``serve``: our instruments rendered in the Prometheus text format.

Needs the ``otel`` extra (the OpenTelemetry SDK, its Prometheus exporter and
``prometheus-client``). The SDK's Prometheus reader is bound to a registry of its own, so
nothing else in the process (a host's own ``prometheus_client`` metrics) is mixed in, and
OpenTelemetry's names become Prometheus names by the exporter's rules: dots become
underscores, the unit ``s`` adds ``_seconds``, counters end in ``_total``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..extras import missing_extra_message
from .state import instrument

__all__ = ["PrometheusMetrics"]


class PrometheusMetrics:
    """A meter provider read by a Prometheus registry; :meth:`render` is one scrape."""

    def __init__(self) -> None:
        try:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
            from opentelemetry.sdk.metrics import MeterProvider
            from prometheus_client import (
                CONTENT_TYPE_LATEST,
                REGISTRY,
                CollectorRegistry,
                generate_latest,
            )
        except ImportError as exc:
            raise ImportError(missing_extra_message(exc, "the /metrics endpoint", "otel")) from exc
        self.registry: Any = CollectorRegistry(auto_describe=False)
        try:
            self.reader = PrometheusMetricReader(registry=self.registry)
        except TypeError:  # pragma: no cover - exporters before the registry argument
            self.registry = REGISTRY
            self.reader = PrometheusMetricReader()
        self.provider: Any = MeterProvider(metric_readers=[self.reader])
        self.content_type: str = CONTENT_TYPE_LATEST
        self._generate = generate_latest
        self._on_close: list[Callable[[], None]] = []

    def bind(self) -> None:
        """Send the package's metrics here (traces stay with the global tracer provider)."""
        instrument(meter_provider=self.provider)

    def render(self) -> bytes:
        """One scrape: every instrument, the ledger-read gauges read now."""
        return bytes(self._generate(self.registry))

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` at :meth:`close` (unsubscribing what feeds these metrics)."""
        self._on_close.append(callback)

    def close(self) -> None:
        for callback in self._on_close:
            callback()
        self.provider.shutdown()
