"""The shipped alert rules and Grafana dashboard load in the real tools and use only
metrics the package exports (names read from a real /metrics render)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from tools import binary

from auterity_ai_step import AIStepExecutor, WorkflowNode, load_policy, telemetry
from auterity_ai_step.core.budget_gauges import watch_budget
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.policy import simulated_policy
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger
from auterity_ai_step.telemetry.prometheus import PrometheusMetrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "monitoring" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "ai-step.json"
METRIC = re.compile(r"\b((?:auterity_ai_step|gen_ai)_[a-z0-9_]+)")
STEP = {
    "config_version": 2,
    "prompt": "Hello",
    "model": "gpt-4o-mini",
    "fallback_models": ["claude-haiku-4-5"],
    "policy_fallbacks": False,
    "max_tokens": 50,
}


def _metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label names in ``by (...)`` and ``{...}`` left out)."""
    bare = re.sub(r"\b(?:by|without)\s*\([^)]*\)", " ", expr)
    bare = re.sub(r"\{[^}]*\}", " ", bare)
    return set(METRIC.findall(bare))


def _queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text("utf-8"))
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p["targets"]]


def _rule_exprs() -> list[str]:
    doc = yaml.safe_load(RULES.read_text("utf-8"))
    return [rule["expr"] for group in doc["groups"] for rule in group["rules"]]


@pytest.fixture
async def exported(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[set[str]]:
    """Every series name a /metrics render holds after steps that exercise each metric:
    a fallback, a refusal, a budget alert, an open circuit, a health check."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "x" * 32)
    metrics = PrometheusMetrics()
    metrics.bind()
    scenario = Scenario(models={"gpt-4o-mini": ModelBehaviour(outcomes=(500,))})
    async with Simulator(scenario) as sim:
        policy = simulated_policy(load_policy(), sim.base_url)
        retry = policy.retry.model_copy(update={"initial_backoff_s": 0, "max_backoff_s": 0})
        controls = policy.cost_controls.model_copy(
            update={"daily_budget": Decimal("0.001"), "alert_threshold": Decimal(1)}
        )
        policy = policy.model_copy(update={"retry": retry, "cost_controls": controls})
        ledger = Ledger(sqlite_url)
        store = PolicyStore.fixed(policy)
        unwatch = watch_budget(ledger, store)
        executor = AIStepExecutor(policy_store=store, ledger=ledger)
        try:
            ok = await executor.execute_step(WorkflowNode("n", "ai", STEP), {}, "e-1")
            assert ok.success, ok.error_message
            refused = {**STEP, "cost_limit": 0.0000001, "max_tokens": 1000}
            no = await executor.execute_step(WorkflowNode("n", "ai", refused), {}, "e-2")
            assert no.output_data["ai_error_type"] == "limit_exceeded"
            telemetry.record_health_check("gpt-4o-mini", "openai", "unavailable", 5000.0)
            text = metrics.render().decode()
        finally:
            unwatch()
            ledger.close()
            telemetry.reset()
            metrics.close()
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    yield names


def test_alert_rules_pass_promtool_check() -> None:
    done = subprocess.run(
        [binary("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_each_alert_fires_on_its_series_in_promtool_unit_tests() -> None:
    done = subprocess.run(
        [binary("promtool"), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=RULE_TESTS.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    tested = {
        t["alertname"]
        for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for t in case["alert_rule_test"]
        if t["exp_alerts"]
    }
    assert tested == alerts


def test_every_dashboard_query_parses_in_promtool(tmp_path: Path) -> None:
    queries = _queries()
    assert len(queries) >= 10
    rules: dict[str, Any] = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:panel_{i}", "expr": expr}
                    for i, (_title, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump(rules), "utf-8")
    done = subprocess.run(
        [binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


def test_dashboard_and_rules_name_only_exported_metrics_and_cover_them(
    exported: set[str],
) -> None:
    board = json.loads(DASHBOARD.read_text("utf-8"))
    assert board["uid"] == "auterity-ai-step"
    assert {p["datasource"]["uid"] for p in board["panels"]} == {"${DS_PROMETHEUS}"}
    used: set[str] = set()
    for title, expr in _queries():
        named = _metric_names(expr)
        assert named, f"panel {title!r} names no metric of ours"
        assert named <= exported, f"panel {title!r}: {sorted(named - exported)} not exported"
        used |= named
    for expr in _rule_exprs():
        named = _metric_names(expr)
        assert named and named <= exported, sorted(named - exported)
        used |= named
    # No export is left off both the dashboard and the rules (histograms by any series).
    families = {re.sub(r"_(bucket|count|sum)$", "", n) for n in exported if n != "target_info"}
    shown = {re.sub(r"_(bucket|count|sum)$", "", n) for n in used}
    assert families <= shown, sorted(families - shown)
