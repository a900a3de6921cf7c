"""A partial price override through PUT /config changes only the price it names.

The file may price a model with the seed's single ``cost_per_1k_tokens`` (both prices) or
with either or both of ``input_cost_per_1k`` / ``output_cost_per_1k`` (one alone prices
both); an override may use any of the same keys. Every combination is checked against
what ``GET /available`` then shows, computed independently of the parser.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from api_support import ADMIN_TOKEN, USER_TOKEN, policy_document

from auterity_ai_step.api.router import create_app
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import Simulator
from auterity_ai_step.store.ledger import Ledger

FILE_FORMS: dict[str, dict[str, str]] = {
    "single": {"cost_per_1k_tokens": "0.001"},
    "both": {"input_cost_per_1k": "0.0002", "output_cost_per_1k": "0.0006"},
    "input-only": {"input_cost_per_1k": "0.0003"},
    "output-only": {"output_cost_per_1k": "0.0007"},
}
OVERRIDE_FORMS: dict[str, dict[str, str]] = {
    "input": {"input_cost_per_1k": "0.01"},
    "output": {"output_cost_per_1k": "0.02"},
    "single": {"cost_per_1k_tokens": "0.03"},
    "both": {"input_cost_per_1k": "0.04", "output_cost_per_1k": "0.05"},
}


def _prices(entry: dict[str, str]) -> tuple[str | None, str | None]:
    """(input, output) as an entry names them, before one price stands in for both."""
    single = entry.get("cost_per_1k_tokens")
    return entry.get("input_cost_per_1k", single), entry.get("output_cost_per_1k", single)


def _expected(file_form: dict[str, str], override: dict[str, str]) -> tuple[Decimal, Decimal]:
    file_in, file_out = _prices(file_form)
    new_in, new_out = _prices(override)
    inp = new_in if new_in is not None else file_in
    out = new_out if new_out is not None else file_out
    inp = out if inp is None else inp
    out = inp if out is None else out
    assert inp is not None and out is not None
    return Decimal(inp), Decimal(out)


@pytest.mark.parametrize("file_name", sorted(FILE_FORMS))
@pytest.mark.parametrize("override_name", sorted(OVERRIDE_FORMS))
async def test_a_partial_override_changes_only_the_price_it_names(
    file_name: str,
    override_name: str,
    fake_key: str,
    sim: Simulator,
    tmp_path: Path,
    ledger: Ledger,
    client_for: Callable[..., httpx.AsyncClient],
) -> None:
    document: dict[str, Any] = policy_document(sim.base_url)
    entry = document["models"]["sim-gpt"]
    for key in ("input_cost_per_1k", "output_cost_per_1k"):
        del entry[key]
    entry.update(FILE_FORMS[file_name])
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    store = PolicyStore(path, overrides=ledger.model_configurations)
    app = create_app(
        api_token=USER_TOKEN, admin_token=ADMIN_TOKEN, policy_store=store, ledger=ledger
    )
    override = OVERRIDE_FORMS[override_name]
    async with client_for(app, ADMIN_TOKEN) as admin:
        response = await admin.put("/api/models/config", json={"sim-gpt": override})
        assert response.status_code == 200, response.text
        listed = (await admin.get("/api/models/available")).json()["models"]
    shown = next(m for m in listed if m["name"] == "sim-gpt")
    got = Decimal(shown["input_cost_per_1k"]), Decimal(shown["output_cost_per_1k"])
    assert got == _expected(FILE_FORMS[file_name], override)


async def test_the_guides_put_keeps_gpt_4o_minis_output_price(
    fake_key: str,
    tmp_path: Path,
    ledger: Ledger,
    client_for: Callable[..., httpx.AsyncClient],
) -> None:
    """The FastAPI guide's own example: input to 0.0002, output stays the file's 0.0006."""
    document = {
        "models": {
            "gpt-4o-mini": {
                "provider": "openai",
                "input_cost_per_1k": "0.00015",
                "output_cost_per_1k": "0.0006",
                "context_window": 128000,
            }
        },
        "routing_rules": {"default_model": "gpt-4o-mini"},
    }
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    app = create_app(
        api_token=USER_TOKEN,
        admin_token=ADMIN_TOKEN,
        policy_store=PolicyStore(path, overrides=ledger.model_configurations),
        ledger=ledger,
    )
    async with client_for(app, ADMIN_TOKEN) as admin:
        body = {"gpt-4o-mini": {"input_cost_per_1k": "0.0002"}}
        assert (await admin.put("/api/models/config", json=body)).status_code == 200
        (shown,) = (await admin.get("/api/models/available")).json()["models"]
    assert (shown["input_cost_per_1k"], shown["output_cost_per_1k"]) == ("0.0002", "0.0006")
