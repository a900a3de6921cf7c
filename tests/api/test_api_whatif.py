"""``POST /api/models/whatif`` on SQLite and PostgreSQL, over a ledger filled by real steps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from api_support import ADMIN_TOKEN, USER_TOKEN, policy_document
from fastapi import FastAPI

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.api.router import create_app
from auterity_ai_step.core.executor import default_engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import Simulator
from auterity_ai_step.store.ledger import Ledger

STEP = {"config_version": 2, "prompt": "Hello there", "model": "sim-gpt", "max_tokens": 200}
CHEAP_IN, CHEAP_OUT = Decimal("0.0001"), Decimal("0.0002")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    name = "sqlite_url" if request.param == "sqlite" else "pg_db_url"
    ledger = Ledger(str(request.getfixturevalue(name)))
    yield ledger
    ledger.close()


@pytest.fixture
def whatif_app(fake_key: str, policy_file: Path, db_ledger: Ledger) -> FastAPI:
    store = PolicyStore(policy_file, overrides=db_ledger.model_configurations)
    return create_app(
        api_token=USER_TOKEN, admin_token=ADMIN_TOKEN, policy_store=store, ledger=db_ledger
    )


@pytest.fixture
async def client(
    whatif_app: FastAPI, client_for: Callable[..., httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(whatif_app, USER_TOKEN) as made:
        yield made


async def run_steps(policy_file: Path, ledger: Ledger, count: int = 3) -> list[dict[str, Any]]:
    store = PolicyStore(policy_file, check_interval_s=0)
    executor = AIStepExecutor(engine=default_engine(store, ledger))
    for number in range(count):
        node = WorkflowNode(id="greet", type="ai", data=STEP)
        result = await executor.execute_step(node, {}, execution_id=f"x{number}")
        assert result.success, result.error_message
    return [row for n in range(count) for row in ledger.execution_usage(f"x{n}")]


def cheaper(sim: Simulator) -> dict[str, Any]:
    document = policy_document(sim.base_url)
    gpt = document["models"]["sim-gpt"]  # type: ignore[index]
    gpt.update(input_cost_per_1k=str(CHEAP_IN), output_cost_per_1k=str(CHEAP_OUT))
    return document


async def test_replay_totals_by_hand(
    client: httpx.AsyncClient, sim: Simulator, policy_file: Path, db_ledger: Ledger
) -> None:
    rows = await run_steps(policy_file, db_ledger)
    then = sum((Decimal(str(r["cost"])) for r in rows), Decimal(0))
    now = sum(
        ((r["prompt_tokens"] * CHEAP_IN + r["completion_tokens"] * CHEAP_OUT) / 1000 for r in rows),
        Decimal(0),
    )
    response = await client.post("/api/models/whatif", json={"policy": cheaper(sim), "days": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["steps"] == 3 and body["old_steps"] == 0
    assert Decimal(body["total"]["cost_then"]) == then
    assert Decimal(body["total"]["cost_now"]) == now
    assert body["by_node"] == [
        {
            "name": "greet",
            "steps_then": 3,
            "steps_now": 3,
            "cost_then": body["total"]["cost_then"],
            "cost_now": body["total"]["cost_now"],
            "difference": body["total"]["difference"],
        }
    ]
    # The same model then and now: its own tokenizer, so no estimate rescales it.
    assert body["estimated_steps"] == 0
    assert body["cost_now_estimate"] == body["total"]["cost_now"]


async def test_yaml_policy_and_one_execution(
    client: httpx.AsyncClient, sim: Simulator, policy_file: Path, db_ledger: Ledger
) -> None:
    await run_steps(policy_file, db_ledger, count=2)
    text = yaml.safe_dump(cheaper(sim))
    response = await client.post("/api/models/whatif", json={"policy": text, "execution_id": "x1"})
    assert response.status_code == 200, response.text
    assert response.json()["steps"] == 1 and response.json()["execution_id"] == "x1"


async def test_live_policy_when_none_is_sent(
    client: httpx.AsyncClient, policy_file: Path, db_ledger: Ledger
) -> None:
    await run_steps(policy_file, db_ledger, count=1)
    body = (await client.post("/api/models/whatif", json={})).json()
    assert body["total"]["cost_now"] == body["total"]["cost_then"]
    assert body["total"]["difference"] == "0"


async def test_daily_budget_refusal(
    client: httpx.AsyncClient, sim: Simulator, policy_file: Path, db_ledger: Ledger
) -> None:
    await run_steps(policy_file, db_ledger, count=2)
    document = cheaper(sim)
    document["cost_controls"] = {"daily_budget": "0.00000001"}
    # Without the free local model in the chain, nothing fits the tiny budget.
    document["routing_rules"]["fallback_chain"] = ["sim-premium"]  # type: ignore[index]
    body = (await client.post("/api/models/whatif", json={"policy": document})).json()
    assert body["refused_by_limit"] == {"daily_budget": 2}
    assert body["budget_days"][0]["refused_steps"] == 2
    assert body["budget_days"][0]["ran_out_at"] == body["refused"][0]["at"]


async def test_invalid_policy_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/models/whatif", json={"policy": {"models": {}, "cost_contrls": {}}}
    )
    assert response.status_code == 422
    assert "cost_contrls: unknown top-level key" in response.text
    bad_yaml = await client.post("/api/models/whatif", json={"policy": "models: [\n"})
    assert bad_yaml.status_code == 422 and "not valid YAML" in bad_yaml.text
    bad_days = await client.post("/api/models/whatif", json={"days": 0})
    assert bad_days.status_code == 422 and bad_days.json()["detail"][0]["loc"] == [
        "body",
        "days",
    ]


async def test_needs_the_token(
    whatif_app: FastAPI, client_for: Callable[..., httpx.AsyncClient]
) -> None:
    async with client_for(whatif_app) as anonymous:
        response = await anonymous.post("/api/models/whatif", json={})
    assert response.status_code == 401
