"""The model management API through HTTP: the standalone app on a real SQLite ledger, with
the loopback simulator behind every health check."""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import ADMIN_TOKEN, KEY_ENV, UNSET_ENV, USER_TOKEN
from fastapi import FastAPI

from auterity_ai_step.api import models as api_models
from auterity_ai_step.api.router import create_app, create_router
from auterity_ai_step.contract.policy import load_policy, parse_policy
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.resources import bundled_policy_path
from auterity_ai_step.routing import gateway
from auterity_ai_step.routing.health import CircuitBreaker, HealthMonitor
from auterity_ai_step.store.ledger import Ledger, UsageRecord

Client = Callable[..., httpx.AsyncClient]


def _record(execution_id: str, model: str, cost: str, attempt: int = 1, **kw: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "execution_id": execution_id,
        "node_id": "node-1",
        "model_name": model,
        "provider": "openai",
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "cost": Decimal(cost),
        "latency_ms": 120,
        "status": "success",
        "error_type": None,
        "attempt": attempt,
        "is_fallback": attempt > 1,
        "price_version": "v1",
    }
    values.update(kw)
    return UsageRecord(**values)


def _seed(ledger: Ledger) -> None:
    today = datetime.now(UTC).date()
    ledger.record(_record("exec-1", "sim-gpt", "0.0001250"), day=today)
    ledger.record(
        _record("exec-1", "sim-premium", "0.001050", attempt=2, status="error", error_type="x"),
        day=today,
    )
    ledger.record(_record("exec-2", "sim-gpt", "0.0002"), day=today)
    ledger.reserve(Decimal("0.25"), day=today, daily_budget=Decimal(5))


# -- authentication ------------------------------------------------------------------------


async def test_every_route_refuses_missing_or_wrong_credentials(
    app: FastAPI, client_for: Client
) -> None:
    async with client_for(app) as client:
        spec = (await client.get("/openapi.json")).json()
    routes = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
    assert {p for _, p in routes} == {
        "/api/models/available",
        "/api/models/usage",
        "/api/models/health-check",
        "/api/models/recommendations",
        "/api/models/step-schema",
        "/api/models/executions/{execution_id}/usage",
        "/api/models/config",
        # the console's routes (auterity_ai_step/api_console.py)
        "/api/models/usage/series",
        "/api/models/usage/performance",
        "/api/models/budget",
        "/api/models/step/validate",
        "/api/models/step/estimate",
        "/api/models/step/try",
        "/api/models/status",
        "/api/models/status/stream",
    }
    assert len(routes) == 16
    for token in (None, "wrong-token-" + "x" * 20):
        async with client_for(app, token) as client:
            for method, template in routes:
                path = template.replace("{execution_id}", "exec-1")
                response = await client.request(method, path, json={"model": "sim-gpt"})
                assert response.status_code == 401, (method, path)
                assert response.headers["www-authenticate"] == "Bearer"
                assert "bearer token" in response.json()["detail"]


async def test_docs_are_public_and_describe_every_route(app: FastAPI, client_for: Client) -> None:
    async with client_for(app) as client:
        assert (await client.get("/docs")).status_code == 200
        spec = (await client.get("/openapi.json")).json()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op["summary"] and op["description"], (method, path)
            assert "401" in op["responses"], (method, path)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    put = spec["paths"]["/api/models/config"]["put"]
    assert put["requestBody"]["content"]["application/json"]["example"]


async def test_openapi_describes_every_field_of_every_body(
    app: FastAPI, client_for: Client
) -> None:
    """The OpenAPI document is the API reference: every field of our bodies says what it is."""
    async with client_for(app) as client:
        spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    ours = [name for name in schemas if name in api_models.__all__]
    # all but Preference, money() and HealthCheckRequest, which is inline: its route reads
    # the body itself, after authentication
    assert len(ours) == len(api_models.__all__) - 3
    health = spec["paths"]["/api/models/health-check"]["post"]["requestBody"]
    inline = {"HealthCheckRequest": health["content"]["application/json"]["schema"]}
    for name, schema in [*((n, schemas[n]) for n in ours), *inline.items()]:
        assert schema.get("description"), name
        for field, prop in schema["properties"].items():
            assert prop.get("description"), f"{name}.{field}"


async def test_openapi_money_is_never_negative_and_the_threshold_is_a_percentage(
    app: FastAPI, client_for: Client, user: httpx.AsyncClient, ledger: Ledger
) -> None:
    async with client_for(app) as client:
        spec = (await client.get("/openapi.json")).json()
    budget = spec["components"]["schemas"]["BudgetFigures"]["properties"]
    money = re.compile(budget["spent_today"]["pattern"])
    assert money.match("0.00015") and money.match("12") and money.match("0")
    assert not money.match("-0.5") and not money.match("1e-5")
    threshold = budget["alert_threshold_percent"]
    assert "US dollars" not in threshold["description"]
    assert "percentage" in threshold["description"] and threshold["examples"] == ["80"]
    percent = re.compile(threshold["pattern"])
    assert all(percent.match(v) for v in ("0", "80", "12.5", "100", "100.0"))
    assert not any(percent.match(v) for v in ("-1", "100.5", "101", "0.00015x"))
    _seed(ledger)
    body = (await user.get("/api/models/usage")).json()
    assert percent.match(body["budget"]["alert_threshold_percent"])
    for key in ("daily_budget", "period_budget", "spent_today", "reserved_today", "left_today"):
        assert money.match(body["budget"][key]), key


async def test_openapi_recommendations_task_type_is_a_real_task(
    app: FastAPI, client_for: Client
) -> None:
    async with client_for(app) as client:
        spec = (await client.get("/openapi.json")).json()
    params = spec["paths"]["/api/models/recommendations"]["get"]["parameters"]
    task_type = next(p for p in params if p["name"] == "task_type")
    (example,) = task_type["schema"]["examples"]
    bundled = load_policy(bundled_policy_path())
    assert example in bundled.routing.task_preferences
    assert f"e.g. {example}" in task_type["description"]


async def test_non_admin_gets_403_on_config(user: httpx.AsyncClient) -> None:
    assert (await user.get("/api/models/config")).status_code == 403
    response = await user.put("/api/models/config", json={})
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


async def test_the_api_token_alone_is_never_admin(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, client_for: Client
) -> None:
    """Admin rights need their own token: with only AUTERITY_AI_API_TOKEN, nobody has them."""
    app = create_app(api_token=USER_TOKEN, policy_store=policy_store, ledger=ledger)
    async with client_for(app, USER_TOKEN) as client:
        assert (await client.get("/api/models/available")).status_code == 200
        read = await client.get("/api/models/config")
        write = await client.put("/api/models/config", json={"sim-gpt": {"quality": 7}})
    assert read.status_code == write.status_code == 403
    assert "AUTERITY_AI_ADMIN_TOKEN" in read.json()["detail"]
    assert ledger.model_configurations()[1] == {}


async def test_admin_token_reads_everything(admin: httpx.AsyncClient) -> None:
    assert (await admin.get("/api/models/available")).status_code == 200
    assert (await admin.get("/api/models/config")).status_code == 200


async def test_tokens_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    fake_key: str,
    policy_store: PolicyStore,
    ledger: Ledger,
    client_for: Client,
) -> None:
    monkeypatch.setenv("AUTERITY_AI_API_TOKEN", USER_TOKEN)
    monkeypatch.setenv("AUTERITY_AI_ADMIN_TOKEN", ADMIN_TOKEN)
    app = create_app(policy_store=policy_store, ledger=ledger)
    async with client_for(app, USER_TOKEN) as client:
        assert (await client.get("/api/models/available")).status_code == 200
        assert (await client.get("/api/models/config")).status_code == 403
    async with client_for(app, ADMIN_TOKEN) as client:
        assert (await client.get("/api/models/config")).status_code == 200


def test_create_app_refuses_missing_or_short_tokens(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger
) -> None:
    with pytest.raises(ValueError, match="AUTERITY_AI_API_TOKEN nor AUTERITY_AI_ADMIN_TOKEN"):
        create_app(policy_store=policy_store, ledger=ledger)
    with pytest.raises(ValueError, match="at least 16 characters"):
        create_app(api_token="short", policy_store=policy_store, ledger=ledger)
    with pytest.raises(ValueError, match="AUTERITY_AI_ADMIN_TOKEN must be"):
        create_app(api_token=USER_TOKEN, admin_token="x", policy_store=policy_store, ledger=ledger)


async def test_insecure_local_app_needs_no_token(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, client_for: Client
) -> None:
    app = create_app(insecure_local=True, policy_store=policy_store, ledger=ledger)
    async with client_for(app, base_url="http://127.0.0.1:8765") as client:
        assert (await client.get("/api/models/available")).status_code == 200
        assert (await client.get("/api/models/config")).status_code == 200


async def test_host_router_uses_the_hosts_auth(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, client_for: Client
) -> None:
    """A host mounts the router with its own dependency (here: a header naming the user)."""
    from fastapi import Header, HTTPException

    def current_user(x_user: str | None = Header(default=None)) -> str:
        if x_user is None:
            raise HTTPException(401, "log in")
        return x_user

    host = FastAPI()
    host.include_router(
        create_router(
            auth=current_user,
            is_admin=lambda name: name == "root",
            policy_store=policy_store,
            ledger=ledger,
        )
    )
    async with client_for(host) as client:
        assert (await client.get("/api/models/available")).status_code == 401
        ok = await client.get("/api/models/available", headers={"x-user": "ann"})
        assert ok.status_code == 200
        no = await client.get("/api/models/config", headers={"x-user": "ann"})
        assert no.status_code == 403
        yes = await client.get("/api/models/config", headers={"x-user": "root"})
        assert yes.status_code == 200


def test_import_without_fastapi_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)
    for name in [n for n in sys.modules if n.startswith("auterity_ai_step.api")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r"pip install 'auterity-ai-step\[api\]'"):
        importlib.import_module("auterity_ai_step.api")


# -- /available ----------------------------------------------------------------------------


async def test_available_lists_every_model_without_calling_any(
    user: httpx.AsyncClient, sim: Any
) -> None:
    response = await user.get("/api/models/available")
    assert response.status_code == 200
    body = response.json()
    assert sim.count() == 0
    models = {m["name"]: m for m in body["models"]}
    assert list(models) == ["sim-gpt", "sim-premium", "sim-down", "sim-hang", "local-llama"]
    gpt = models["sim-gpt"]
    assert gpt["provider"] == "openai"
    assert (gpt["input_cost_per_1k"], gpt["output_cost_per_1k"]) == ("0.0005", "0.0015")
    assert gpt["price_source"] == "policy"
    assert (gpt["context_window"], gpt["max_output_tokens"]) == (16000, 4096)
    assert gpt["capabilities"] == ["text", "chat"]
    assert gpt["use_cases"] == ["general", "customer_service"]
    assert (gpt["status"], gpt["latency_ms"], gpt["last_checked"]) == ("unknown", None, None)
    assert models["local-llama"]["input_cost_per_1k"] == "0"
    assert body["default_model"] == "sim-gpt"


async def test_available_shows_an_open_circuit_as_unavailable(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, client_for: Client
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=60)
    breaker.record_failure("sim-gpt")
    monitor = HealthMonitor(policy_store, breaker)
    app = create_app(
        api_token=USER_TOKEN, policy_store=policy_store, ledger=ledger, monitor=monitor
    )
    async with client_for(app, USER_TOKEN) as client:
        models = (await client.get("/api/models/available")).json()["models"]
    gpt = next(m for m in models if m["name"] == "sim-gpt")
    assert (gpt["status"], gpt["circuit"]) == ("unavailable", "open")


async def test_a_negative_litellm_price_counts_as_no_price(
    fake_key: str, ledger: Ledger, client_for: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken price-map entry must not turn into negative money (or a 500)."""
    lib = gateway._lib()
    entry = {"input_cost_per_token": -0.000001, "output_cost_per_token": 0.000002}
    monkeypatch.setitem(lib.model_cost, "broken-price", entry)
    policy = parse_policy(
        {
            "models": {"openai": {"broken-price": {"context_window": 1000}}},
            "routing_rules": {"default_model": "broken-price"},
        }
    )
    app = create_app(api_token=USER_TOKEN, policy_store=PolicyStore.fixed(policy), ledger=ledger)
    async with client_for(app, USER_TOKEN) as client:
        available = await client.get("/api/models/available")
        ranked = await client.get("/api/models/recommendations")
    assert available.status_code == ranked.status_code == 200
    (model,) = available.json()["models"]
    assert (model["input_cost_per_1k"], model["price_source"]) == (None, None)
    (entry_ranked,) = ranked.json()["models"]
    assert entry_ranked["estimated_cost_per_1k"] is None


# -- /health-check -------------------------------------------------------------------------


async def test_health_check_local_model_by_body_then_listed(
    user: httpx.AsyncClient, sim: Any
) -> None:
    response = await user.post("/api/models/health-check", json={"model": "local-llama"})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "local-llama"
    assert body["status"] == "available"
    assert body["latency_ms"] >= 0 and body["error"] is None
    assert body["checked_at"].endswith(("+00:00", "Z"))
    listed = (await user.get("/api/models/available")).json()["models"]
    llama = next(m for m in listed if m["name"] == "local-llama")
    assert llama["status"] == "available" and llama["last_checked"] is not None


async def test_health_check_by_query_real_calls(user: httpx.AsyncClient, sim: Any) -> None:
    up = await user.post("/api/models/health-check", params={"model": "sim-gpt"})
    assert up.status_code == 200 and up.json()["status"] in ("available", "slow")
    assert sim.count("sim-gpt") == 1
    down = await user.post("/api/models/health-check", params={"model": "sim-down"})
    assert down.status_code == 200
    assert down.json()["status"] == "unavailable" and down.json()["error"]


async def test_health_check_times_out_within_the_models_limit(user: httpx.AsyncClient) -> None:
    response = await user.post("/api/models/health-check", json={"model": "sim-hang"})
    body = response.json()  # the model's own 0.3 s limit ended it, not the router's 5 s cap
    assert body["status"] == "unavailable"
    assert "0.3" in body["error"]


async def test_health_check_is_capped_at_the_router_limit(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, client_for: Client
) -> None:
    host = FastAPI()
    host.include_router(
        create_router(
            auth=lambda: "anyone",
            is_admin=lambda _: False,
            policy_store=policy_store,
            ledger=ledger,
            health_check_limit_s=0.05,
        )
    )
    async with client_for(host) as client:
        response = await client.post("/api/models/health-check", json={"model": "sim-hang"})
    body = response.json()
    assert (body["status"], body["error"]) == ("unavailable", "no answer within 0.05 s")
    assert body["circuit"] == "closed"


async def test_health_check_unknown_model_is_404_naming_known(user: httpx.AsyncClient) -> None:
    response = await user.post("/api/models/health-check", json={"model": "gpt-nope"})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "gpt-nope" in detail["message"] and "sim-gpt" in detail["message"]
    assert "local-llama" in detail["known_models"]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({}, "name the model"),
        ({"json": {"model": "sim-gpt"}, "params": {"model": "sim-down"}}, "disagree"),
    ],
)
async def test_health_check_needs_one_model_name(
    user: httpx.AsyncClient, kwargs: dict[str, Any], needle: str
) -> None:
    response = await user.post("/api/models/health-check", **kwargs)
    assert response.status_code == 422
    assert needle in response.json()["detail"][0]["msg"]


async def test_health_check_bad_body_is_422_without_echo(user: httpx.AsyncClient) -> None:
    secret = "sk-test-" + "z" * 30
    response = await user.post("/api/models/health-check", json={"model": 5, "key": secret})
    assert response.status_code == 422
    assert secret not in response.text and "input" not in response.json()["detail"][0]


# -- /usage and /executions ----------------------------------------------------------------


async def test_usage_totals_and_budget(user: httpx.AsyncClient, ledger: Ledger) -> None:
    _seed(ledger)
    response = await user.get("/api/models/usage", params={"days": 7})
    assert response.status_code == 200
    body = response.json()
    assert (body["days"], body["calls"], body["errors"]) == (7, 3, 1)
    assert body["total_cost"] == "0.001375"
    assert body["total_tokens"] == 450
    by_model = {m["model_name"]: m for m in body["by_model"]}
    assert by_model["sim-gpt"]["cost"] == "0.000325" and by_model["sim-gpt"]["calls"] == 2
    assert body["by_day"][0]["day"] == datetime.now(UTC).date().isoformat()
    assert body["since"].endswith(("+00:00", "Z"))
    budget = body["budget"]
    assert (budget["daily_budget"], budget["period_budget"]) == ("5", "35")
    assert (budget["spent_today"], budget["reserved_today"]) == ("0.001375", "0.25")
    assert budget["left_today"] == "4.748625"
    assert budget["alert_threshold_percent"] == "80" and budget["timezone"] == "UTC"


async def test_usage_for_one_model_and_defaults(user: httpx.AsyncClient, ledger: Ledger) -> None:
    _seed(ledger)
    body = (await user.get("/api/models/usage", params={"model": "sim-premium"})).json()
    assert body["days"] == 7 and body["model"] == "sim-premium"
    assert [m["model_name"] for m in body["by_model"]] == ["sim-premium"]
    assert body["total_cost"] == "0.00105"


@pytest.mark.parametrize("days", ["0", "91", "-1", "seven", "1.5"])
async def test_usage_days_outside_range_is_422(user: httpx.AsyncClient, days: str) -> None:
    response = await user.get("/api/models/usage", params={"days": days})
    assert response.status_code == 422


async def test_usage_without_daily_budget(
    tmp_path: Path, fake_key: str, ledger: Ledger, client_for: Client, policy_file: Path
) -> None:
    text = policy_file.read_text().replace("daily_budget: '5'", "daily_budget: null")
    plain = tmp_path / "nobudget.yml"
    plain.write_text(text)
    app = create_app(api_token=USER_TOKEN, policy_store=PolicyStore(plain), ledger=ledger)
    async with client_for(app, USER_TOKEN) as client:
        budget = (await client.get("/api/models/usage")).json()["budget"]
    assert budget["daily_budget"] is None and budget["left_today"] is None
    assert budget["period_budget"] is None and budget["spent_today"] == "0"


async def test_execution_usage_rows(user: httpx.AsyncClient, ledger: Ledger) -> None:
    _seed(ledger)
    response = await user.get("/api/models/executions/exec-1/usage")
    assert response.status_code == 200
    body = response.json()
    assert (body["execution_id"], body["attempts"], body["total_tokens"]) == ("exec-1", 2, 300)
    assert body["total_cost"] == "0.001175"
    first, second = body["rows"]
    assert (first["model_name"], first["cost"], first["attempt"]) == ("sim-gpt", "0.000125", 1)
    assert (second["status"], second["is_fallback"]) == ("error", True)
    assert first["created_at"].endswith(("+00:00", "Z"))
    empty = (await user.get("/api/models/executions/none-such/usage")).json()
    assert (empty["attempts"], empty["total_cost"], empty["rows"]) == (0, "0", [])


async def test_broken_ledger_is_503(
    tmp_path: Path, fake_key: str, policy_file: Path, client_for: Client
) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    broken = Ledger(f"sqlite:///{folder}")
    app = create_app(admin_token=ADMIN_TOKEN, policy_store=PolicyStore(policy_file), ledger=broken)
    async with client_for(app, ADMIN_TOKEN) as client:
        for path in ("/api/models/usage", "/api/models/executions/e/usage", "/api/models/config"):
            response = await client.get(path)
            assert response.status_code == 503, path
            assert "ledger" in response.json()["detail"]


# -- /recommendations and /step-schema -----------------------------------------------------


async def test_recommendations_by_preference(user: httpx.AsyncClient) -> None:
    cheap = (
        await user.get("/api/models/recommendations", params={"cost_preference": "cheapest"})
    ).json()
    assert cheap["recommended"] == "local-llama"
    assert cheap["models"][0]["estimated_cost_per_1k"] == "0"
    assert cheap["reasons"][0].startswith("cheapest")
    gpt = next(m for m in cheap["models"] if m["model"] == "sim-gpt")
    assert (gpt["estimated_cost_per_1k"], gpt["input_cost_per_1k"]) == ("0.001", "0.0005")
    assert [m["rank"] for m in cheap["models"]] == [1, 2, 3, 4, 5]
    task = (
        await user.get(
            "/api/models/recommendations",
            params={"task_type": "customer_service", "context_length": 12000},
        )
    ).json()
    assert task["recommended"] == "sim-gpt" and task["cost_preference"] == "balanced"
    assert not next(m for m in task["models"] if m["model"] == "local-llama")["fits"]


async def test_recommendations_pass_over_a_model_known_down(user: httpx.AsyncClient) -> None:
    params = {"cost_preference": "quality"}
    before = (await user.get("/api/models/recommendations", params=params)).json()
    assert before["recommended"] == "sim-down"
    await user.post("/api/models/health-check", json={"model": "sim-down"})
    after = (await user.get("/api/models/recommendations", params=params)).json()
    assert after["recommended"] == "sim-premium"
    assert after["reasons"][0] == "sim-down is unavailable now; next best"


async def test_recommendations_when_nothing_fits(user: httpx.AsyncClient) -> None:
    body = (
        await user.get("/api/models/recommendations", params={"context_length": 10_000_000})
    ).json()
    assert body["recommended"] is None
    assert "no model can hold" in body["reasons"][0]
    assert not any(m["fits"] for m in body["models"])


@pytest.mark.parametrize(
    "params",
    [{"cost_preference": "free"}, {"context_length": -1}, {"context_length": "lots"}],
)
async def test_recommendations_bad_query_is_422(
    user: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    assert (await user.get("/api/models/recommendations", params=params)).status_code == 422


async def test_step_schema_has_the_live_models(user: httpx.AsyncClient) -> None:
    schema = (await user.get("/api/models/step-schema")).json()
    assert schema["properties"]["model"]["enum"][:2] == ["sim-gpt", "sim-premium"]
    assert "auto" in schema["properties"]["model"]["enum"]
    assert "local-llama" in schema["properties"]["fallback_models"]["items"]["enum"]


# -- /config -------------------------------------------------------------------------------


async def test_config_shows_key_variables_never_values(
    admin: httpx.AsyncClient, fake_key: str
) -> None:
    response = await admin.get("/api/models/config")
    assert response.status_code == 200
    body = response.json()
    assert body["overrides"] == {} and body["last_refused"] is None
    models = {m["name"]: m for m in body["models"]}
    assert models["sim-gpt"] == {
        "name": "sim-gpt",
        "provider": "openai",
        "source": "file",
        "api_key_env": KEY_ENV,
        "api_key_set": True,
    }
    assert (models["sim-premium"]["api_key_env"], models["sim-premium"]["api_key_set"]) == (
        UNSET_ENV,
        False,
    )
    assert models["local-llama"]["api_key_env"] is None
    assert fake_key not in response.text


async def test_valid_config_is_written_and_live_at_once(
    admin: httpx.AsyncClient, user: httpx.AsyncClient, ledger: Ledger, policy_file: Path, sim: Any
) -> None:
    running = PolicyStore(policy_file, overrides=ledger.model_configurations, check_interval_s=0)
    body = {
        "sim-gpt": {"input_cost_per_1k": "0.0007"},
        "sim-new": {
            "provider": "openai",
            "litellm_model": "openai/sim-new",
            "input_cost_per_1k": 0.002,
            "output_cost_per_1k": 0.004,
            "context_window": 4000,
            "api_key_env": KEY_ENV,
            "api_base": f"{sim.base_url}/v1",  # where the file sends this key
            "use_cases": ["general", "summaries"],
        },
    }
    response = await admin.put("/api/models/config", json=body)
    assert response.status_code == 200, response.text
    view = response.json()
    sources = {m["name"]: m["source"] for m in view["models"]}
    assert (sources["sim-gpt"], sources["sim-new"]) == ("file+override", "override")
    assert view["overrides"]["sim-gpt"] == {"input_cost_per_1k": "0.0007", "provider": "openai"}
    _, stored = ledger.model_configurations()
    assert set(stored) == {"sim-gpt", "sim-new"}
    models = {m["name"]: m for m in (await user.get("/api/models/available")).json()["models"]}
    assert models["sim-gpt"]["input_cost_per_1k"] == "0.0007"
    assert models["sim-new"]["output_cost_per_1k"] == "0.004"
    assert running.current().models["sim-gpt"].input_cost_per_1k == Decimal("0.0007")
    schema = (await user.get("/api/models/step-schema")).json()
    assert "sim-new" in schema["properties"]["model"]["enum"]
    cleared = await admin.put("/api/models/config", json={})
    assert cleared.status_code == 200 and cleared.json()["overrides"] == {}
    assert "sim-new" not in running.current().models


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"sim-gpt": {"input_cost_per_1k": -1}}, "sim-gpt.input_cost_per_1k"),
        ({"brand-new": {"context_window": 1000}}, "provider"),
        ({"sim-gpt": {"quality": 42}}, "quality"),
        ({"sim-gpt": {"colour": "blue"}}, "unknown key"),
        (
            {"sim-gpt": {"name": "sim-renamed"}},
            "overrides.sim-gpt.name: not allowed: a model's name is its key in the overrides "
            "(rename the key instead)",
        ),
        (
            {"brand-new": {"provider": "openai", "name": "other", "context_window": 1000}},
            "overrides.brand-new.name: not allowed",
        ),
        ({"sim-gpt": "cheap"}, "sim-gpt: must be an object"),
        (["sim-gpt"], "must be an object"),
    ],
)
async def test_invalid_config_is_422_and_changes_nothing(
    admin: httpx.AsyncClient, ledger: Ledger, body: Any, needle: str
) -> None:
    await admin.put("/api/models/config", json={"sim-gpt": {"quality": 7}})
    token_before, before = ledger.model_configurations()
    response = await admin.put("/api/models/config", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "nothing was changed" in detail["message"]
    assert any(needle in line for line in detail["errors"]), detail["errors"]
    assert ledger.model_configurations() == (token_before, before)


async def test_literal_api_key_is_refused_without_echo(
    admin: httpx.AsyncClient, ledger: Ledger
) -> None:
    secret = "sk-test-" + "q" * 32
    for body in (
        {"sim-gpt": {"api_key": secret}},
        {"sim-gpt": {"headers": {"token": secret}}},
        {"sim-gpt": {"api_key_env": secret}},
    ):
        response = await admin.put("/api/models/config", json=body)
        assert response.status_code == 422
        assert secret not in response.text
    assert ledger.model_configurations()[1] == {}


async def test_config_body_must_be_json(admin: httpx.AsyncClient) -> None:
    response = await admin.put(
        "/api/models/config", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]["errors"] == ["the body must be a JSON object"]


async def test_config_put_needs_a_policy_file(
    fake_key: str, policy_file: Path, ledger: Ledger, client_for: Client
) -> None:
    fixed = PolicyStore.fixed(load_policy(policy_file))
    app = create_app(admin_token=ADMIN_TOKEN, policy_store=fixed, ledger=ledger)
    async with client_for(app, ADMIN_TOKEN) as client:
        response = await client.put("/api/models/config", json={})
        assert response.status_code == 409
        view = (await client.get("/api/models/config")).json()
    assert {m["source"] for m in view["models"]} == {"file"}


async def test_sequential_puts_last_valid_wins(admin: httpx.AsyncClient, ledger: Ledger) -> None:
    first = {"sim-gpt": {"input_cost_per_1k": "0.0011"}}
    second = {"sim-premium": {"quality": 8}}
    assert (await admin.put("/api/models/config", json=first)).status_code == 200
    assert (await admin.put("/api/models/config", json=second)).status_code == 200
    bad = {"sim-gpt": {"input_cost_per_1k": "free"}}
    assert (await admin.put("/api/models/config", json=bad)).status_code == 422
    _, stored = ledger.model_configurations()
    assert stored == {"sim-premium": {"quality": 8, "provider": "openai"}}


async def test_concurrent_puts_never_half_apply(
    admin: httpx.AsyncClient, user: httpx.AsyncClient, ledger: Ledger
) -> None:
    valid = [
        {
            "sim-gpt": {"input_cost_per_1k": f"0.00{i}1"},
            "sim-down": {"quality": i + 1},
            f"extra-{i}": {"provider": "ollama", "context_window": 1000 + i},
        }
        for i in range(4)
    ]
    invalid = [
        {"sim-gpt": {"input_cost_per_1k": "-5"}, "extra-x": {"provider": "ollama"}},
        {"sim-gpt": {"input_cost_per_1k": "0.5"}, "sim-down": {"api_key": "sk-test-nope12345"}},
    ]
    bodies = [valid[0], invalid[0], valid[1], valid[2], invalid[1], valid[3]]
    responses = await asyncio.gather(
        *(admin.put("/api/models/config", json=body) for body in bodies)
    )
    assert [r.status_code for r in responses] == [200, 422, 200, 200, 422, 200]
    _, stored = ledger.model_configurations()
    winners = [
        body
        for body in valid
        if set(stored) == set(body)
        and all(stored[n][k] == v for n, cfg in body.items() for k, v in cfg.items())
    ]
    assert len(winners) == 1, stored
    winner = winners[0]
    live = {m["name"]: m for m in (await user.get("/api/models/available")).json()["models"]}
    assert live["sim-gpt"]["input_cost_per_1k"] == str(
        Decimal(winner["sim-gpt"]["input_cost_per_1k"]).normalize()
    )
    assert live["sim-down"]["quality"] == winner["sim-down"]["quality"]
    extras = {name for name in live if name.startswith("extra-")}
    assert extras == {name for name in winner if name.startswith("extra-")}


async def test_defaults_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake_key: str, policy_file: Path, client_for: Client
) -> None:
    """Without injected parts: the ledger from settings, the policy file plus its overrides."""
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(policy_file))
    app = create_app(admin_token=ADMIN_TOKEN)
    async with client_for(app, ADMIN_TOKEN) as client:
        put = await client.put("/api/models/config", json={"sim-gpt": {"quality": 2}})
        assert put.status_code == 200
        models = (await client.get("/api/models/available")).json()["models"]
        checked = await client.post("/api/models/health-check", json={"model": "local-llama"})
    assert next(m for m in models if m["name"] == "sim-gpt")["quality"] == 2
    assert checked.json()["status"] == "available"


async def test_config_view_hides_secrets_written_behind_the_apis_back(
    admin: httpx.AsyncClient, ledger: Ledger, policy_store: PolicyStore, fake_key: str
) -> None:
    """A literal key put straight into the table: refused by the store, never shown."""
    ledger.put_model_configurations({"sim-gpt": {"quality": 7, "api_key": fake_key}})
    policy_store.reload()
    body = (await admin.get("/api/models/config")).json()
    assert body["overrides"]["sim-gpt"]["quality"] == 7
    assert "api_key" not in body["overrides"]["sim-gpt"]
    assert body["last_refused"] and "literal API key" in body["last_refused"]
    assert fake_key not in str(body)


async def test_config_view_when_the_file_needs_the_database(
    tmp_path: Path, fake_key: str, policy_file: Path, ledger: Ledger, client_for: Client
) -> None:
    """A file whose default model only the database defines: sources still reported."""
    text = policy_file.read_text().replace("default_model: sim-gpt", "default_model: db-only")
    needy = tmp_path / "needy.yml"
    needy.write_text(text)
    ledger.put_model_configurations(
        {"db-only": {"provider": "ollama", "context_window": 2048, "input_cost_per_1k": 0}}
    )
    store = PolicyStore(needy, overrides=ledger.model_configurations)
    app = create_app(admin_token=ADMIN_TOKEN, policy_store=store, ledger=ledger)
    async with client_for(app, ADMIN_TOKEN) as client:
        body = (await client.get("/api/models/config")).json()
    sources = {m["name"]: m["source"] for m in body["models"]}
    assert sources["db-only"] == "override"


# -- the auterity_ai_step.api log ------------------------------------------------------------


def _api_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "auterity_ai_step.api" and r.levelno == logging.INFO
    ]


async def test_refused_credentials_are_logged_without_the_token(
    app: FastAPI, client_for: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="auterity_ai_step.api")
    wrong = "wrong-token-" + "z" * 24
    async with client_for(app) as anonymous, client_for(app, wrong) as guessing:
        assert (await anonymous.get("/api/models/available")).status_code == 401
        assert (await guessing.get("/api/models/usage")).status_code == 401
    async with client_for(app, USER_TOKEN) as user:
        assert (await user.get("/api/models/config")).status_code == 403
        assert (await user.get("/api/models/available")).status_code == 200
    assert _api_log(caplog) == [
        "refused GET /api/models/available: no bearer token",
        "refused GET /api/models/usage: the bearer token is not valid",
        "refused GET /api/models/config: the user is not an admin",
    ]
    logged = caplog.text
    assert wrong not in logged and USER_TOKEN not in logged and ADMIN_TOKEN not in logged


async def test_config_changes_are_logged_applied_or_refused(
    admin: httpx.AsyncClient, fake_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="auterity_ai_step.api")
    secret = "sk-test-" + "q" * 32
    assert (await admin.put("/api/models/config", json={"sim-gpt": {"quality": 7}})).is_success
    refused = await admin.put("/api/models/config", json={"sim-gpt": {"api_key": secret}})
    assert refused.status_code == 422
    bad_json = await admin.put(
        "/api/models/config", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 422
    assert (await admin.put("/api/models/config", json={})).is_success
    lines = _api_log(caplog)
    assert lines[0] == "model configurations replaced: sim-gpt"
    assert lines[1].startswith(
        "refused a model configuration change (HTTP 422): invalid model configuration; "
        "nothing was changed; overrides.sim-gpt.api_key: a literal API key is not allowed"
    )
    assert lines[2] == (
        "refused a model configuration change (HTTP 422): invalid model configuration; "
        "nothing was changed; the body must be a JSON object"
    )
    assert lines[3] == "model configurations replaced: none stored"
    assert len(lines) == 4
    assert secret not in caplog.text and fake_key not in caplog.text


async def test_a_config_change_the_store_cannot_apply_is_logged(
    fake_key: str,
    policy_file: Path,
    ledger: Ledger,
    client_for: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="auterity_ai_step.api")
    fixed = PolicyStore.fixed(load_policy(policy_file))
    app = create_app(admin_token=ADMIN_TOKEN, policy_store=fixed, ledger=ledger)
    async with client_for(app, ADMIN_TOKEN) as client:
        assert (await client.put("/api/models/config", json={})).status_code == 409
    (line,) = _api_log(caplog)
    assert line.startswith("refused a model configuration change (HTTP 409): ")
