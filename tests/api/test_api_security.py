"""The management API cannot be turned against its host (issue 13, section 4).

Every request here goes to the FastAPI app in process or to a loopback server; an outside
address is only ever shown to be refused, never contacted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from api_support import ADMIN_TOKEN, KEY_ENV, USER_TOKEN, policy_document

from auterity_ai_step.api.router import create_app
from auterity_ai_step.core.health_meter import HEALTH_CHECK_NODE
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import Simulator
from auterity_ai_step.store.ledger import Ledger

Client = Callable[..., httpx.AsyncClient]
CONFIG = "/api/models/config"
CHECK = "/api/models/health-check"


def _new_model(**settings: Any) -> dict[str, Any]:
    return {"provider": "openai", "context_window": 8000, **settings}


# -- stored configuration reaches only what the operator allows ----------------------------


@pytest.mark.parametrize(
    "env", ["SECRET_DB_PASSWORD", "AUTERITY_AI_ADMIN_TOKEN", "AUTERITY_AI_API_TOKEN", "HOME"]
)
async def test_put_config_refuses_a_key_variable_the_operator_did_not_allow(
    admin: httpx.AsyncClient, user: httpx.AsyncClient, ledger: Ledger, sim: Simulator, env: str
) -> None:
    before = ledger.model_configurations()[1]
    response = await admin.put(CONFIG, json={"sim-gpt": {"api_key_env": env}})
    assert response.status_code == 422
    (error,) = response.json()["detail"]["errors"]
    assert error.startswith(f"overrides.sim-gpt.api_key_env: {env} is not a key variable")
    assert "AUTERITY_AI_ALLOWED_KEY_ENVS" in error and "--allow-key-env" in error
    assert ledger.model_configurations()[1] == before
    checked = await user.post(CHECK, json={"model": "sim-gpt"})
    assert checked.status_code == 200  # still the file's own key variable
    assert sim.count("sim-gpt") == 1


@pytest.mark.parametrize(
    ("base", "needle"),
    [
        ("http://169.254.169.254/", "is not an API base"),
        ("http://169.254.169.254/latest/meta-data", "is not an API base"),
        ("https://attacker.example/v1", "is not an API base"),
        ("http://[fd00:ec2::254]/", "is not an API base"),
        ("file:///etc/passwd", "must be an http:// or https:// URL"),
        ("gopher://127.0.0.1:6379/_x", "must be an http:// or https:// URL"),
    ],
)
async def test_put_config_refuses_an_api_base_the_operator_did_not_allow(
    admin: httpx.AsyncClient,
    user: httpx.AsyncClient,
    ledger: Ledger,
    sim: Simulator,
    base: str,
    needle: str,
) -> None:
    """SSRF shown by the refusal: nothing stored, no model to check, no request made."""
    for body in (
        {"sim-gpt": {"api_base": base}},
        {"stolen": _new_model(api_base=base, api_key_env="AUTERITY_TEST_OPENAI_KEY")},
        {"stolen": _new_model(endpoint=base)},
    ):
        response = await admin.put(CONFIG, json=body)
        assert response.status_code == 422, body
        errors = response.json()["detail"]["errors"]
        assert any(".api_base: " in e and needle in e for e in errors), errors
    assert ledger.model_configurations()[1] == {}
    assert (await user.post(CHECK, json={"model": "stolen"})).status_code == 404
    listed = (await user.get("/api/models/available")).json()["models"]
    assert next(m for m in listed if m["name"] == "sim-gpt")["status"] == "unknown"
    assert sim.count() == 0


async def test_a_files_key_goes_only_where_the_file_sends_it(
    admin: httpx.AsyncClient, ledger: Ledger, sim: Simulator
) -> None:
    """Both the key variable and the base are the file's, but never together."""
    for body in (
        {"sim-gpt": {"api_base": sim.base_url}},  # local-llama's base, which gets no key
        {"routed": _new_model(litellm_model="together_ai/x", api_key_env=KEY_ENV)},
        {"local-llama": {"api_key_env": KEY_ENV}},
    ):
        response = await admin.put(CONFIG, json=body)
        assert response.status_code == 422, body
        (error,) = response.json()["detail"]["errors"]
        assert f"its key variable {KEY_ENV} would be sent to" in error, error
    assert ledger.model_configurations()[1] == {}
    moved = {"sim-gpt": {"api_base": f"{sim.base_url}/v1/"}}  # the same base, spelled apart
    assert (await admin.put(CONFIG, json=moved)).status_code == 200
    assert sim.count() == 0


async def test_the_operators_allow_lists_admit_what_they_name(
    monkeypatch: pytest.MonkeyPatch, admin: httpx.AsyncClient, sim: Simulator
) -> None:
    """Only PUTs here: 127.0.0.2 is never called."""
    monkeypatch.setenv("AUTERITY_AI_ALLOWED_KEY_ENVS", "EXTRA_KEY, OTHER_KEY")
    monkeypatch.setenv("AUTERITY_AI_ALLOWED_API_BASES", "http://127.0.0.2:9/gateway")
    body = {"routed": _new_model(api_base="http://127.0.0.2:9/gateway/v1", api_key_env="EXTRA_KEY")}
    assert (await admin.put(CONFIG, json=body)).status_code == 200
    for base in (
        "http://127.0.0.2:9/gatewayx",
        "http://127.0.0.2:10/gateway",
        "https://127.0.0.2:9/gateway",
    ):
        beside = {"routed": _new_model(api_base=base, api_key_env="EXTRA_KEY")}
        assert (await admin.put(CONFIG, json=beside)).status_code == 422, base
    models = {m["name"]: m for m in (await admin.get(CONFIG)).json()["models"]}
    assert models["routed"]["api_key_env"] == "EXTRA_KEY"
    assert sim.count() == 0


async def test_a_row_written_behind_the_apis_back_cannot_reach_further(
    admin: httpx.AsyncClient, user: httpx.AsyncClient, ledger: Ledger, sim: Simulator
) -> None:
    """The table is checked on every load, not only PUT: the store keeps the last good one."""
    ledger.put_model_configurations(
        {"sim-gpt": {"api_base": "http://169.254.169.254/", "api_key_env": "SECRET_DB_PASSWORD"}}
    )
    for _ in range(200):  # the store rereads the table after its check interval
        view = (await admin.get(CONFIG)).json()
        if view["last_refused"]:
            break
        await asyncio.sleep(0.05)
    assert view["last_refused"], view
    assert "169.254.169.254" in view["last_refused"]
    assert "SECRET_DB_PASSWORD" in view["last_refused"]
    assert (await user.post(CHECK, json={"model": "sim-gpt"})).status_code == 200
    assert sim.count("sim-gpt") == 1  # the file's own base, not the stored one


# -- --insecure-local: loopback names only, no simple-request writes ------------------------


@pytest.fixture
def local_app(fake_key: str, policy_store: PolicyStore, ledger: Ledger) -> Any:
    return create_app(insecure_local=True, policy_store=policy_store, ledger=ledger)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"]
)
async def test_insecure_local_answers_loopback_names(
    local_app: Any, client_for: Client, ledger: Ledger, base_url: str
) -> None:
    async with client_for(local_app, base_url=base_url) as client:
        assert (await client.get("/api/models/available")).status_code == 200
        put = await client.put(CONFIG, json={"sim-gpt": {"quality": 7}})
    assert put.status_code == 200
    assert ledger.model_configurations()[1]["sim-gpt"]["quality"] == 7


async def test_insecure_local_refuses_a_rebound_host_name(
    local_app: Any, client_for: Client, ledger: Ledger
) -> None:
    """DNS rebinding: the browser connects to 127.0.0.1 but sends the attacker's name."""
    async with client_for(local_app, base_url="http://attacker.example:8765") as client:
        read = await client.get("/api/models/usage")
        write = await client.put(
            CONFIG, content=b'{"sim-gpt": {"quality": 2}}', headers={"content-type": "text/plain"}
        )
    assert read.status_code == write.status_code == 421
    assert "loopback name" in read.json()["detail"]
    assert ledger.model_configurations()[1] == {}


@pytest.mark.parametrize("origin", ["http://attacker.example", "null", "https://127.0.0.1.nip.io"])
async def test_insecure_local_refuses_other_origins(
    local_app: Any, client_for: Client, ledger: Ledger, origin: str
) -> None:
    async with client_for(local_app, base_url="http://127.0.0.1:8765") as client:
        response = await client.put(
            CONFIG, json={"sim-gpt": {"quality": 2}}, headers={"origin": origin}
        )
        same = await client.get(
            "/api/models/available", headers={"origin": "http://localhost:3000"}
        )
    assert response.status_code == 403 and "Origin" in response.json()["detail"]
    assert same.status_code == 200
    assert ledger.model_configurations()[1] == {}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
async def test_insecure_local_refuses_simple_request_writes(
    local_app: Any, client_for: Client, ledger: Ledger, sim: Simulator, content_type: str
) -> None:
    async with client_for(local_app, base_url="http://127.0.0.1:8765") as client:
        put = await client.put(
            CONFIG, content=b'{"sim-gpt": {"quality": 2}}', headers={"content-type": content_type}
        )
        check = await client.post(
            CHECK, content=b'{"model": "sim-gpt"}', headers={"content-type": content_type}
        )
    assert put.status_code == check.status_code == 415
    assert "application/json" in put.json()["detail"]
    assert ledger.model_configurations()[1] == {} and sim.count() == 0


# -- health checks are metered and rate-limited --------------------------------------------


async def test_a_health_check_is_a_ledger_row_counted_against_the_budget(
    user: httpx.AsyncClient, ledger: Ledger, sim: Simulator
) -> None:
    assert (await user.post(CHECK, json={"model": "sim-gpt"})).status_code == 200
    assert sim.count("sim-gpt") == 1
    totals = ledger.totals(1, "sim-gpt")
    assert totals["calls"] == 1 and totals["total_cost"] > 0
    budget = (await user.get("/api/models/usage")).json()["budget"]
    assert Decimal(budget["spent_today"]) == totals["total_cost"]
    assert budget["reserved_today"] == "0"
    rows = ledger.totals(1)
    assert rows["calls"] == 1
    (row,) = [r for r in _rows(ledger) if r["model_name"] == "sim-gpt"]
    assert row["node_id"] == HEALTH_CHECK_NODE and row["completion_tokens"] == 1


def _rows(ledger: Ledger) -> list[dict[str, Any]]:
    from sqlalchemy import text  # the test reads the table as an operator would

    with ledger.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("select * from model_usage"))]


async def test_a_health_check_the_budget_cannot_hold_is_refused_before_any_request(
    fake_key: str, tmp_path: Path, sim: Simulator, ledger: Ledger, client_for: Client
) -> None:
    document: dict[str, Any] = policy_document(sim.base_url)
    document["cost_controls"]["daily_budget"] = "0.0000001"
    path = tmp_path / "tight.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    store = PolicyStore(path, overrides=ledger.model_configurations)
    app = create_app(api_token=USER_TOKEN, policy_store=store, ledger=ledger)
    async with client_for(app, USER_TOKEN) as client:
        response = await client.post(CHECK, json={"model": "sim-gpt"})
    assert response.status_code == 429
    assert "daily_budget" in response.json()["detail"] and "no request" in response.json()["detail"]
    assert sim.count() == 0 and ledger.totals(1)["calls"] == 0


async def test_200_concurrent_health_checks_by_one_token_make_at_most_its_quota(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, sim: Simulator, client_for: Client
) -> None:
    app = create_app(
        api_token=USER_TOKEN,
        admin_token=ADMIN_TOKEN,
        policy_store=policy_store,
        ledger=ledger,
        health_check_rate=(5, 3600.0),
    )
    async with client_for(app, USER_TOKEN) as user, client_for(app, ADMIN_TOKEN) as admin:
        answers = await asyncio.gather(
            *(user.post(CHECK, json={"model": "sim-gpt"}) for _ in range(200))
        )
        other = await admin.post(CHECK, json={"model": "sim-gpt"})  # its own quota
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 5 and codes.count(429) == 195
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) > 0 and "per" in refused.json()["detail"]
    assert other.status_code == 200
    assert sim.count("sim-gpt") == 6
    assert ledger.totals(1, "sim-gpt")["calls"] == 6  # every billed call has its row
