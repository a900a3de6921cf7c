"""Fixtures for the API tests: a policy file pointing at the simulator, a real SQLite ledger,
the standalone app, and clients that keep every response body so tests can prove no secret
ever leaves the server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from api_support import (
    ADMIN_TOKEN,
    FAKE_KEY,
    KEY_ENV,
    UNSET_ENV,
    USER_TOKEN,
    policy_document,
    scenario,
)
from fastapi import FastAPI

from auterity_ai_step.api.router import create_app
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import Simulator
from auterity_ai_step.store.ledger import Ledger


@dataclass
class Recorder:
    """Every response body the clients saw."""

    bodies: list[str] = field(default_factory=list)

    async def hook(self, response: httpx.Response) -> None:
        await response.aread()
        self.bodies.append(response.text + " " + str(dict(response.headers)))


@pytest.fixture
def fake_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    monkeypatch.delenv(UNSET_ENV, raising=False)
    monkeypatch.delenv("AUTERITY_AI_API_TOKEN", raising=False)
    monkeypatch.delenv("AUTERITY_AI_ADMIN_TOKEN", raising=False)
    return FAKE_KEY


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(scenario()) as running:
        yield running


@pytest.fixture
def policy_file(tmp_path: Path, sim: Simulator) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(
        yaml.safe_dump(policy_document(sim.base_url), sort_keys=False), encoding="utf-8"
    )
    return path


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[Ledger]:
    store = Ledger(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def policy_store(policy_file: Path, ledger: Ledger) -> PolicyStore:
    """As an embedding host builds it: the file plus the ledger's model configurations."""
    return PolicyStore(policy_file, overrides=ledger.model_configurations)


@pytest.fixture
def app(fake_key: str, policy_store: PolicyStore, ledger: Ledger) -> FastAPI:
    return create_app(
        api_token=USER_TOKEN,
        admin_token=ADMIN_TOKEN,
        policy_store=policy_store,
        ledger=ledger,
    )


@pytest.fixture
def recorder(fake_key: str) -> Iterator[Recorder]:
    seen = Recorder()
    yield seen
    leaked = [body for body in seen.bodies if fake_key in body]
    assert not leaked, f"the fake key appeared in {len(leaked)} response(s)"


@pytest.fixture
def client_for(recorder: Recorder) -> Iterator[Callable[..., httpx.AsyncClient]]:
    """Make clients for an app, optionally with a bearer token; all recorded."""
    made: list[httpx.AsyncClient] = []

    def make(
        app: FastAPI, token: str | None = None, base_url: str = "http://api.test"
    ) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=base_url,
            headers=headers,
            event_hooks={"response": [recorder.hook]},
        )
        made.append(client)
        return client

    yield make


@pytest.fixture
async def user(
    app: FastAPI, client_for: Callable[..., httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, USER_TOKEN) as client:
        yield client


@pytest.fixture
async def admin(
    app: FastAPI, client_for: Callable[..., httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app, ADMIN_TOKEN) as client:
        yield client
