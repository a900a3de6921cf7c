"""``GET /metrics``: Prometheus text, the API's authentication plus a scrape-only token,
insecure-local rules without tokens, and health checks on the health metrics."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from api_support import ADMIN_TOKEN, USER_TOKEN
from fastapi import FastAPI

from auterity_ai_step import telemetry
from auterity_ai_step.api import create_app
from auterity_ai_step.cli.api_cmds import metrics_endpoint
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.store.ledger import Ledger
from auterity_ai_step.telemetry.prometheus import PrometheusMetrics

METRICS_TOKEN = "scrape-token-" + "s" * 24
Client = Callable[..., httpx.AsyncClient]


@pytest.fixture
def metrics(policy_store: PolicyStore, ledger: Ledger) -> Iterator[PrometheusMetrics]:
    found = metrics_endpoint(ledger, policy_store)  # as serve wires it
    assert found is not None
    yield found
    telemetry.reset()
    found.close()


@pytest.fixture
def metered_app(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, metrics: PrometheusMetrics
) -> FastAPI:
    return create_app(
        api_token=USER_TOKEN,
        admin_token=ADMIN_TOKEN,
        policy_store=policy_store,
        ledger=ledger,
        metrics=metrics,
        metrics_token=METRICS_TOKEN,
    )


async def test_metrics_need_a_token_and_the_scrape_token_opens_only_them(
    metered_app: FastAPI, client_for: Client
) -> None:
    async with client_for(metered_app) as anonymous:
        refused = await anonymous.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
    async with client_for(metered_app, "not-the-token-at-all-xxxxxxxx") as wrong:
        assert (await wrong.get("/metrics")).status_code == 401
    for token in (USER_TOKEN, ADMIN_TOKEN, METRICS_TOKEN):
        async with client_for(metered_app, token) as client:
            scraped = await client.get("/metrics")
            assert scraped.status_code == 200, token
            assert scraped.headers["content-type"].startswith("text/plain")
            # The budget gauges read the ledger now: the policy's daily budget of 5.
            assert "auterity_ai_step_budget_daily_usd" in scraped.text
            assert "auterity_ai_step_budget_remaining_usd" in scraped.text
    async with client_for(metered_app, METRICS_TOKEN) as scraper:
        assert (await scraper.get("/api/models/available")).status_code == 401
        assert (await scraper.get("/api/models/usage")).status_code == 401


async def test_metrics_are_not_in_the_openapi_document(
    metered_app: FastAPI, client_for: Client
) -> None:
    async with client_for(metered_app) as client:
        spec = (await client.get("/openapi.json")).json()
    assert "/metrics" not in spec["paths"]


async def test_no_metrics_route_unless_given(app: FastAPI, client_for: Client) -> None:
    async with client_for(app, USER_TOKEN) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_insecure_local_metrics_answer_only_loopback_names(
    fake_key: str,
    policy_store: PolicyStore,
    ledger: Ledger,
    metrics: PrometheusMetrics,
    client_for: Client,
) -> None:
    local = create_app(
        insecure_local=True, policy_store=policy_store, ledger=ledger, metrics=metrics
    )
    async with client_for(local, base_url="http://127.0.0.1:8765") as client:
        assert (await client.get("/metrics")).status_code == 200
    async with client_for(local, base_url="http://metrics.example.test") as client:
        assert (await client.get("/metrics")).status_code == 421


def test_a_short_scrape_token_is_refused(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, metrics: PrometheusMetrics
) -> None:
    with pytest.raises(ValueError, match="AUTERITY_AI_METRICS_TOKEN must be at least 16"):
        create_app(
            api_token=USER_TOKEN,
            policy_store=policy_store,
            ledger=ledger,
            metrics=metrics,
            metrics_token="short",
        )


async def test_health_checks_show_on_the_health_metrics(
    metered_app: FastAPI, client_for: Client
) -> None:
    async with client_for(metered_app, USER_TOKEN) as client:
        up = await client.post("/api/models/health-check", params={"model": "sim-gpt"})
        down = await client.post("/api/models/health-check", params={"model": "sim-down"})
        assert up.json()["status"] in ("available", "slow")
        assert down.json()["status"] == "unavailable"
        text = (await client.get("/metrics")).text
    lines = text.splitlines()

    def value(prefix: str, *labels: str) -> float:
        (line,) = [n for n in lines if n.startswith(prefix) and all(x in n for x in labels)]
        return float(line.rsplit(" ", 1)[1])

    assert value("auterity_ai_step_health_up{", 'gen_ai_request_model="sim-gpt"') == 1
    assert value("auterity_ai_step_health_up{", 'gen_ai_request_model="sim-down"') == 0
    count = "auterity_ai_step_health_check_duration_seconds_count{"
    assert value(count, '"sim-down"', 'auterity_ai_step_health_status="unavailable"') == 1
    assert value(count, '"sim-gpt"', 'gen_ai_provider_name="openai"') == 1


def test_serve_without_the_otel_extra_says_so_and_serves_no_metrics(
    policy_store: PolicyStore,
    ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.prometheus", None)
    assert metrics_endpoint(ledger, policy_store) is None
    assert "pip install 'auterity-ai-step[otel]'" in capsys.readouterr().err
