"""The SDK's in-memory span exporter and metric reader, bound to the package's hooks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from auterity_ai_step import telemetry


@dataclass
class Otel:
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider

    def finished(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if name is None or s.name == name]

    def points(self, metric: str) -> list[tuple[dict[str, Any], Any]]:
        """Every data point of ``metric``: (attributes, point)."""
        data = self.reader.get_metrics_data()
        out = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        out += [(dict(p.attributes or {}), p) for p in m.data.data_points]
        return out

    def total(self, metric: str, **match: Any) -> float:
        """Sum of a counter's values (or a histogram's sums) over points matching ``match``."""
        found = 0.0
        for attrs, point in self.points(metric):
            if all(attrs.get(k.replace("__", ".")) == v for k, v in match.items()):
                found += getattr(point, "value", None) or getattr(point, "sum", 0)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield Otel(exporter, reader, tracer_provider)
    telemetry.reset()
    meter_provider.shutdown()
    tracer_provider.shutdown()
