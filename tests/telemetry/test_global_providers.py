"""The host's own global providers: none set means the hooks skip everything; a provider
the host sets later (after import, after the first step) is used from then on. Runs in a
subprocess: OpenTelemetry's global providers can be set only once per process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from auterity_ai_step import telemetry
    from auterity_ai_step.telemetry.state import current

    assert current() is None, "no SDK: nothing to record to"
    with telemetry.step_span("exec-before", "node") as step:
        assert not trace.get_current_span().is_recording()

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    host = trace.get_tracer("host")
    with host.start_as_current_span("workflow"):
        with telemetry.step_span("exec-after", "node"):
            pass
    names = [s.name for s in spans.get_finished_spans()]
    assert names == ["auterity.ai_step", "workflow"], names
    telemetry.record_refusal("gpt-4o-mini", "openai", "daily_budget")
    data = reader.get_metrics_data()
    found = [m.name for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics]
    assert "auterity.ai_step.refusals" in found, found
    print("ok")
    """
)


def test_hooks_follow_the_hosts_global_providers_set_after_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
