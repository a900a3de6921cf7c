"""Shared fixtures for the gateway tests: model specs, the simulator, LiteLLM transport state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from gateway_support import FAKE_KEY, FAMILIES, make_spec

from auterity_ai_step.contract.policy import ModelSpec
from auterity_ai_step.routing import gateway
from auterity_ai_step.simulator.server import Scenario, Simulator


@pytest.fixture
def spec_for() -> Callable[..., ModelSpec]:
    return make_spec


@pytest.fixture
def fake_keys(monkeypatch: pytest.MonkeyPatch) -> str:
    """A recognisable fake key in every provider's env var, to prove it never leaks."""
    for _, _, env in FAMILIES.values():
        if env:
            monkeypatch.setenv(env, FAKE_KEY)
    return FAKE_KEY


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A simulator whose ``scenario.models`` each test fills in (unknown models get 404)."""
    sim = Simulator(Scenario(models={}, default=None))
    await sim.start()
    yield sim
    await sim.stop()


def _flush_clients() -> None:
    lib = gateway._lib()
    lib.in_memory_llm_clients_cache.flush_cache()


@pytest.fixture
def httpx_transport() -> Iterator[Any]:
    """LiteLLM on plain httpx (so respx sees every request); restored afterwards.

    LiteLLM's production transport is aiohttp, which respx's default mocker does not see;
    the loopback tests cover that path. Cached clients are flushed on both sides so neither
    setting leaks into another test.
    """
    lib = gateway._lib()
    before = lib.disable_aiohttp_transport
    lib.disable_aiohttp_transport = True
    _flush_clients()
    yield lib
    lib.disable_aiohttp_transport = before
    _flush_clients()


@pytest.fixture
def production_transport() -> Iterator[Any]:
    """LiteLLM exactly as in production (aiohttp transport), with fresh clients."""
    lib = gateway._lib()
    assert lib.disable_aiohttp_transport is False
    _flush_clients()
    yield lib
    _flush_clients()
