"""Monitoring in the host's own stack: OpenTelemetry GenAI traces and metrics.

Depends on ``opentelemetry-api`` only. A host that configured OpenTelemetry (a tracer
provider and a meter provider) gets, with no code: one ``auterity.ai_step`` span per step
under its current span, one ``chat <model>`` client span per provider attempt with the GenAI
conventions' attributes, the conventions' ``gen_ai.client.token.usage`` and
``gen_ai.client.operation.duration`` histograms, and our ``auterity.ai_step.*`` counters
and gauges. With no SDK configured every hook is a near-free no-op.

``serve`` exposes the same metrics at ``/metrics`` for Prometheus through
:mod:`.prometheus` (``pip install 'auterity-ai-step[otel]'``). Modules: :mod:`.semconv`
(names), :mod:`.state` (which providers; muting), :mod:`.tracing` (the hooks),
:mod:`.metrics` (instruments and gauges).
"""

from __future__ import annotations

from .metrics import BudgetFigures, observe_budget, watch_breaker
from .state import instrument, muted, reset
from .tracing import (
    attempt_span,
    budget_alert,
    note_candidates,
    note_response,
    record_health_check,
    record_refusal,
    step_span,
)

__all__ = [
    "BudgetFigures",
    "attempt_span",
    "budget_alert",
    "instrument",
    "muted",
    "note_candidates",
    "note_response",
    "observe_budget",
    "record_health_check",
    "record_refusal",
    "reset",
    "step_span",
    "watch_breaker",
]
