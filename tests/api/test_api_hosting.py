"""The router as a host mounts it: its 422s never echo input whatever the host app is,
``PUT /config`` refuses a policy store that would ignore what it writes, and configurations
that hold a key instead of a variable name are refused without echo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from api_support import ADMIN_TOKEN
from fastapi import FastAPI, Header, HTTPException

from auterity_ai_step.api.router import create_app, create_router
from auterity_ai_step.contract.policy import load_policy
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.store.ledger import Ledger

Client = Callable[..., httpx.AsyncClient]
HF_KEY = "hf_" + "AbCd1234" * 4


def _user(x_user: str | None = Header(default=None)) -> str:
    if x_user is None:
        raise HTTPException(401, "log in")
    return x_user


def _bare_host(**router_args: object) -> FastAPI:
    """A host app with no exception handlers of its own, mounting the router."""
    host = FastAPI()
    host.include_router(
        create_router(auth=_user, is_admin=lambda name: name == "root", **router_args)
    )  # type: ignore[arg-type]
    return host


async def test_a_mounted_router_never_echoes_input_in_422(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, client_for: Client
) -> None:
    secret = "sk-" + "k" * 40
    host = _bare_host(policy_store=policy_store, ledger=ledger)
    async with client_for(host) as client:
        client.headers["x-user"] = "root"
        bad_body = await client.post(
            "/api/models/health-check", json={"model": 1, "api_key": secret}
        )
        bad_query = await client.get("/api/models/usage", params={"days": secret})
        bad_path = await client.get("/api/models/recommendations", params={"context_length": -1})
    for response in (bad_body, bad_query, bad_path):
        assert response.status_code == 422
        assert secret not in response.text
        detail = response.json()["detail"]
        assert detail and all(set(e) == {"loc", "msg", "type"} for e in detail)
    assert bad_body.json()["detail"][0]["loc"] == ["body", "model"]


async def test_mounted_and_standalone_422_bodies_are_the_same(
    fake_key: str, policy_store: PolicyStore, ledger: Ledger, client_for: Client
) -> None:
    body = {"model": 1, "api_key": "sk-" + "k" * 40}
    host = _bare_host(policy_store=policy_store, ledger=ledger)
    standalone = create_app(admin_token=ADMIN_TOKEN, policy_store=policy_store, ledger=ledger)
    async with client_for(host) as mounted, client_for(standalone, ADMIN_TOKEN) as alone:
        one = await mounted.post("/api/models/health-check", json=body, headers={"x-user": "a"})
        two = await alone.post("/api/models/health-check", json=body)
    assert one.status_code == two.status_code == 422
    assert one.json() == two.json()


async def test_put_config_refuses_a_store_that_ignores_the_table(
    fake_key: str, policy_file: Path, ledger: Ledger, client_for: Client
) -> None:
    """A host passing its own PolicyStore(path): writing would change nothing, so 409."""
    host = _bare_host(policy_store=PolicyStore(policy_file), ledger=ledger)
    async with client_for(host) as client:
        client.headers["x-user"] = "root"
        response = await client.put("/api/models/config", json={"sim-gpt": {"quality": 2}})
        models = (await client.get("/api/models/available")).json()["models"]
    assert response.status_code == 409
    assert "PolicyStore(overrides=ledger.model_configurations)" in response.json()["detail"]
    assert ledger.model_configurations()[1] == {}
    assert next(m for m in models if m["name"] == "sim-gpt")["quality"] == 6


async def test_the_routers_default_store_reads_the_table(
    monkeypatch: pytest.MonkeyPatch,
    fake_key: str,
    policy_file: Path,
    ledger: Ledger,
    client_for: Client,
) -> None:
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(policy_file))
    host = _bare_host(ledger=ledger)
    async with client_for(host) as client:
        client.headers["x-user"] = "root"
        response = await client.put("/api/models/config", json={"sim-gpt": {"quality": 2}})
        models = (await client.get("/api/models/available")).json()["models"]
    assert response.status_code == 200
    assert next(m for m in models if m["name"] == "sim-gpt")["quality"] == 2
    assert ledger.model_configurations()[1] == {"sim-gpt": {"quality": 2, "provider": "openai"}}


async def test_a_key_given_as_api_key_env_is_refused_without_echo(
    admin: httpx.AsyncClient, ledger: Ledger
) -> None:
    body = {"hf-model": {"provider": "huggingface", "context_window": 4096, "api_key_env": HF_KEY}}
    response = await admin.put("/api/models/config", json=body)
    assert response.status_code == 422
    assert HF_KEY not in response.text
    assert response.json()["detail"]["errors"] == [
        "overrides.hf-model.api_key_env: looks like an API key, not the NAME of an environment "
        "variable; put the key in a variable (e.g. HUGGINGFACE_API_KEY) and name that"
    ]
    assert ledger.model_configurations()[1] == {}
    view = await admin.get("/api/models/config")
    assert view.status_code == 200 and HF_KEY not in view.text


async def test_a_key_stored_behind_the_apis_back_is_not_shown(
    admin: httpx.AsyncClient, ledger: Ledger, policy_store: PolicyStore
) -> None:
    ledger.put_model_configurations({"sim-gpt": {"api_key_env": HF_KEY, "quality": 7}})
    policy_store.reload()
    response = await admin.get("/api/models/config")
    body = response.json()
    assert response.status_code == 200 and HF_KEY not in response.text
    assert body["overrides"]["sim-gpt"]["quality"] == 7
    assert body["last_refused"] and "looks like an API key" in body["last_refused"]


async def test_recommendation_reasons_show_the_price_as_the_figures_do(
    user: httpx.AsyncClient,
) -> None:
    body = (await user.get("/api/models/recommendations")).json()
    # Models with both prices in the policy (sim-hang names one; see price_for vs ranking).
    both = {"sim-gpt", "sim-premium", "sim-down", "local-llama"}
    priced = [m for m in body["models"] if m["model"] in both]
    assert len(priced) == len(both)
    for entry in priced:
        price = f"(${entry['estimated_cost_per_1k']}/1k tokens)"
        assert any(price in reason for reason in entry["reasons"]), entry
    gpt = next(m for m in priced if m["model"] == "sim-gpt")
    assert any("($0.001/1k tokens)" in reason for reason in gpt["reasons"])


async def test_put_config_on_a_fixed_store_is_still_409(
    fake_key: str, policy_file: Path, ledger: Ledger, client_for: Client
) -> None:
    app = create_app(
        admin_token=ADMIN_TOKEN,
        policy_store=PolicyStore.fixed(load_policy(policy_file)),
        ledger=ledger,
    )
    async with client_for(app, ADMIN_TOKEN) as client:
        response = await client.put("/api/models/config", json=[1, 2])
    assert response.status_code == 409
    assert ledger.model_configurations()[1] == {}
