"""A health check against a provider that echoes the key, encoded, shows none of it.

The loopback provider answers the check with 401 and the key it was sent in its error body
as is, base64-encoded (alone and inside a Basic credential), reversed, spaced out, hex- and
percent-encoded; the API's health ``error`` (and the model list that repeats it) keeps the
provider's words and none of those forms.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx

from auterity_ai_step.simulator.server import ModelBehaviour, Simulator


def encodings(key: str) -> dict[str, str]:
    raw = key.encode()
    return {
        "plain": key,
        "base64": base64.b64encode(raw).decode(),
        "basic-auth": base64.b64encode(b"user:" + raw).decode(),
        "reversed": key[::-1],
        "spaced": " ".join(key),
        "hex": raw.hex(),
        "percent": quote(key, safe=""),
    }


def shown(text: str, key: str) -> list[str]:
    return [name for name, form in encodings(key).items() if form in text]


async def test_health_error_holds_no_form_of_the_key(
    user: httpx.AsyncClient, sim: Simulator, fake_key: str
) -> None:
    echoed = "; ".join(f"{name}: {form}" for name, form in encodings(fake_key).items())
    body: Any = {"error": {"message": f"Bad key. Received {echoed}", "type": "invalid_request"}}
    sim.scenario.models["sim-down"] = ModelBehaviour(outcomes=({"status": 401, "body": body},))
    assert len(shown(str(body), fake_key)) == len(encodings(fake_key))  # the echo is there

    response = await user.post("/api/models/health-check", json={"model": "sim-down"})
    assert response.status_code == 200
    checked = response.json()
    assert checked["status"] == "unavailable"
    assert checked["error"].startswith("authentication: sim-down: HTTP 401")
    assert "Bad key. Received" in checked["error"]
    assert shown(response.text, fake_key) == []

    listed = await user.get("/api/models/available")
    entry = next(m for m in listed.json()["models"] if m["name"] == "sim-down")
    assert entry["status"] == "unavailable"
    assert shown(listed.text, fake_key) == []
