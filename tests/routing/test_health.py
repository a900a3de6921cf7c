"""Circuit breaker semantics and active health checks over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from auterity_ai_step.contract.policy import CircuitSettings, parse_policy
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.errors import (
    AuthenticationFailed,
    ContentRefused,
    ContextWindowExceeded,
    InvalidOutput,
    ModelNotFound,
    PolicyError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from auterity_ai_step.routing.health import (
    CircuitBreaker,
    HealthMonitor,
    HealthStatus,
    counts_as_failure,
)
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- circuit breaker ----------------------------------------------------------------------


def test_opens_after_consecutive_failures_and_blocks_during_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=30, clock=clock)
    for _ in range(2):
        breaker.record_failure("m")
    assert breaker.state("m") == "closed"
    assert breaker.allow("m")
    breaker.record_failure("m")
    assert breaker.state("m") == "open"
    assert not breaker.allow("m")
    clock.now = 29.9
    assert not breaker.allow("m")
    assert breaker.state("other") == "closed"


def test_quarantine_opens_at_once_for_its_own_cooldown_with_a_reason() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=30, clock=clock)
    heard: list[Any] = []
    unsubscribe = breaker.on_quarantine(heard.append)
    breaker.on_quarantine(lambda event: 1 / 0)  # a broken listener never stops it
    event = breaker.quarantine("m", "reported 100x max_tokens", cooldown_s=600)
    assert heard == [event] and event.cooldown_s == 600
    assert breaker.state("m") == "open" and not breaker.allow("m")
    assert breaker.reason("m") == "reported 100x max_tokens"
    assert breaker.snapshot()["m"]["reason"] == "reported 100x max_tokens"
    clock.now = 599
    assert breaker.state("m") == "open"  # the breaker's own 30 s do not apply
    clock.now = 600
    assert breaker.allow("m")  # one probe after the quarantine's cooldown
    breaker.record_success("m")
    assert breaker.state("m") == "closed" and breaker.reason("m") is None
    unsubscribe()
    breaker.quarantine("m", "again")
    assert len(heard) == 1 and breaker.snapshot()["m"]["cooldown_remaining_s"] == 30


def test_quarantine_reason_is_redacted_and_shown_by_status() -> None:
    breaker = CircuitBreaker()
    monitor = HealthMonitor(
        store_for({"m": {"context_window": 8000}}), breaker, prober=_never_called
    )
    breaker.quarantine("m", "quota exhausted for sk-proj-abcdefghijklmnopqrstuvwxyz123456")
    status = monitor.status()["m"]
    assert status.status == "unavailable"
    assert status.error is not None and status.error.startswith("quarantined: quota exhausted")
    assert "abcdefghijklmnop" not in status.error


async def _never_called(spec: Any, timeout: float) -> float:
    raise AssertionError("no probe expected")


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=30, clock=Clock())
    breaker.record_failure("m")
    breaker.record_success("m")
    breaker.record_failure("m")
    assert breaker.state("m") == "closed"


def test_exactly_one_probe_after_cooldown_then_success_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure("m")
    clock.now = 10.0
    assert breaker.state("m") == "half_open"
    assert breaker.allow("m") is True
    assert breaker.allow("m") is False
    assert breaker.allow("m") is False
    breaker.record_success("m")
    assert breaker.state("m") == "closed"
    assert breaker.allow("m")


def test_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure("m")
    clock.now = 12.0
    assert breaker.allow("m")
    breaker.record_failure("m")
    assert breaker.state("m") == "open"
    clock.now = 21.9
    assert not breaker.allow("m")
    clock.now = 22.0
    assert breaker.allow("m")


def test_failures_while_open_do_not_extend_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure("m")
    clock.now = 5.0
    breaker.record_failure("m")  # a request that was already in flight
    clock.now = 10.0
    assert breaker.state("m") == "half_open"


def test_a_probe_that_never_reports_is_given_up_after_a_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10, clock=clock)
    breaker.record_failure("m")
    clock.now = 10.0
    assert breaker.allow("m")
    clock.now = 19.0
    assert not breaker.allow("m")
    clock.now = 20.0
    assert breaker.allow("m")


def test_only_one_of_many_threads_gets_the_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=1, clock=clock)
    breaker.record_failure("m")
    clock.now = 5.0
    start = threading.Barrier(16)
    results: list[bool] = []

    def worker() -> None:
        start.wait()
        results.append(breaker.allow("m"))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 15 + [True]


def test_snapshot_and_settings() -> None:
    clock = Clock()
    breaker = CircuitBreaker.from_settings(
        CircuitSettings(failure_threshold=2, cooldown_s=30), clock
    )
    breaker.record_failure("a")
    breaker.record_failure("b")
    breaker.record_failure("b")
    clock.now = 10.0
    assert breaker.snapshot() == {
        "a": {"state": "closed", "consecutive_failures": 1, "cooldown_remaining_s": 0.0},
        "b": {"state": "open", "consecutive_failures": 2, "cooldown_remaining_s": 20.0},
    }
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)


@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (RateLimited("x"), True),
        (ProviderTimeout("x"), True),
        (ProviderUnavailable("x"), True),
        (AuthenticationFailed("x"), True),
        (ModelNotFound("x"), True),
        (ContentRefused("x"), False),
        (InvalidOutput("x"), False),
        (ContextWindowExceeded("x"), False),
        (ValueError("x"), False),
    ],
)
def test_counts_as_failure(error: BaseException, counts: bool) -> None:
    assert counts_as_failure(error) is counts
    assert CircuitBreaker.counts_as_failure(error) is counts


# -- active checks over loopback sockets --------------------------------------------------


class HangingServer:
    """Accepts connections and never answers; counts how many are open at once."""

    def __init__(self) -> None:
        self.port = 0
        self.open = 0
        self.peak = 0
        self.held: list[asyncio.StreamWriter] = []

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.held.append(writer)
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            while await reader.read(4096):  # until the client gives up and closes
                pass
        finally:
            self.open -= 1


@pytest.fixture
async def hanging() -> AsyncIterator[HangingServer]:
    hang = HangingServer()
    server = await asyncio.start_server(hang.accept, "127.0.0.1", 0)
    hang.port = server.sockets[0].getsockname()[1]
    yield hang
    for writer in hang.held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
def hanging_port(hanging: HangingServer) -> int:
    """A server that accepts connections and never answers."""
    return hanging.port


@pytest.fixture
def refused_port() -> int:
    """A port nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    scenario = Scenario(
        models={
            "slow": ModelBehaviour(latency_ms=150),
            "broken": ModelBehaviour(outcomes=(500,)),
        }
    )
    async with Simulator(scenario) as sim:
        yield sim


def openai_model(base: str, timeout: float = 2.0, slow_ms: float = 2000) -> dict[str, Any]:
    return {
        "api_base": base,
        "input_cost_per_1k": 0.001,
        "output_cost_per_1k": 0.001,
        "context_window": 8000,
        "max_output_tokens": 1000,
        "quality": 5,
        "api_key_env": "AUTERITY_TEST_HEALTH_KEY",
        "health": {"timeout_s": timeout, "slow_ms": slow_ms},
    }


def store_for(models: dict[str, dict[str, Any]]) -> PolicyStore:
    policy = parse_policy(
        {"models": {"openai": models}, "routing_rules": {"default_model": next(iter(models))}}
    )
    return PolicyStore.fixed(policy)


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_TEST_HEALTH_KEY", "sk-test-health-0000000000")


async def test_health_check_statuses(
    simulator: Simulator, hanging_port: int, refused_port: int
) -> None:
    base = simulator.base_url + "/v1"
    store = store_for(
        {
            "ok": openai_model(base, timeout=10),  # may pay LiteLLM's first import (~3 s)
            "slow": openai_model(base, slow_ms=50),
            "broken": openai_model(base),
            "hangs": openai_model(f"http://127.0.0.1:{hanging_port}/v1", timeout=0.5),
            "refused": openai_model(f"http://127.0.0.1:{refused_port}/v1"),
        }
    )
    monitor = HealthMonitor(store, CircuitBreaker())
    ok = await monitor.health_check("ok")
    assert ok.status == "available"
    assert ok.error is None and ok.latency_ms is not None and ok.checked_at is not None
    assert (await monitor.health_check("slow")).status == "slow"
    broken = await monitor.health_check("broken")
    assert broken.status == "unavailable"
    assert broken.error and "unavailable" in broken.error
    hangs = await monitor.health_check("hangs")
    assert hangs.status == "unavailable"
    assert hangs.error is not None
    refused = await monitor.health_check("refused")
    assert refused.status == "unavailable"
    assert simulator.count("ok") == 1
    for status in (ok, broken, hangs, refused):
        assert "sk-test-health" not in str(status.to_dict())


async def test_check_all_runs_concurrently_within_the_timeout(
    simulator: Simulator, hanging: HangingServer, refused_port: int
) -> None:
    hanging_port = hanging.port
    base = simulator.base_url + "/v1"
    timeout = 1.0
    models = {f"ok{i}": openai_model(base, timeout) for i in range(7)}
    models |= {
        f"hang{i}": openai_model(f"http://127.0.0.1:{hanging_port}/v1", timeout) for i in range(3)
    }
    models |= {
        f"refuse{i}": openai_model(f"http://127.0.0.1:{refused_port}/v1", timeout) for i in range(2)
    }
    monitor = HealthMonitor(store_for(models), CircuitBreaker())
    results = await monitor.check_all()
    assert [r.model for r in results] == list(models)
    statuses = {r.model: r.status for r in results}
    assert [n for n, s in statuses.items() if s == "available"] == [f"ok{i}" for i in range(7)]
    assert all(statuses[f"hang{i}"] == "unavailable" for i in range(3))
    assert all(statuses[f"refuse{i}"] == "unavailable" for i in range(2))
    # Concurrent, not one after another: the three hanging checks were all waiting on the
    # silent server at the same moment, so together they cost one timeout, not three.
    assert hanging.peak == 3


async def test_status_is_readable_without_a_call_and_folds_in_the_circuit(
    simulator: Simulator,
) -> None:
    base = simulator.base_url + "/v1"
    store = store_for({"a": openai_model(base), "b": openai_model(base)})
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=60)
    monitor = HealthMonitor(store, breaker)
    assert {n: s.status for n, s in monitor.status().items()} == {"a": "unknown", "b": "unknown"}
    assert simulator.count() == 0
    await monitor.check_all(["a"])
    breaker.record_failure("b")
    status = monitor.status()
    assert status["a"].status == "available" and status["a"].circuit == "closed"
    assert status["b"].status == "unavailable" and status["b"].circuit == "open"
    assert status["b"].error == "circuit open after repeated failures"
    assert simulator.count() == 1


async def test_unknown_model_is_a_policy_error(simulator: Simulator) -> None:
    monitor = HealthMonitor(store_for({"a": openai_model(simulator.base_url)}), CircuitBreaker())
    with pytest.raises(PolicyError, match="unknown model 'zzz'"):
        await monitor.health_check("zzz")


async def test_an_unexpected_prober_error_is_reported_not_raised(simulator: Simulator) -> None:
    # Defensive branch: the gateway translates everything it knows into ProviderError, so
    # reaching this needs an injected prober that breaks that promise.
    async def broken_prober(model: Any, timeout: float) -> float:
        raise RuntimeError("boom api_key=sk-abcdefghijklmnop")

    monitor = HealthMonitor(
        store_for({"a": openai_model(simulator.base_url)}), CircuitBreaker(), prober=broken_prober
    )
    status = await monitor.health_check("a")
    assert status.status == "unavailable"
    assert status.error is not None and status.error.startswith("RuntimeError: boom")
    assert "sk-abcdefghijklmnop" not in status.error
    assert HealthStatus("x", "unknown").to_dict()["checked_at"] is None


@pytest.mark.parametrize(
    ("circuit", "expected"),
    [({"failure_threshold": 1, "cooldown_s": 7.5}, (1, 7.5)), (None, (3, 30.0))],
)
def test_a_monitor_for_a_policy_follows_its_circuit_settings(
    circuit: dict[str, Any] | None, expected: tuple[int, float]
) -> None:
    """As ``health`` and the API build it: the breaker the policy's circuit section asks for."""
    document: dict[str, Any] = {
        "models": {"openai": {"m": openai_model("http://127.0.0.1:9/v1")}},
        "routing_rules": {"default_model": "m"},
    }
    if circuit is not None:
        document["circuit"] = circuit
    monitor = HealthMonitor.for_policy(PolicyStore.fixed(parse_policy(document)))
    breaker = monitor.breaker
    assert (breaker.failure_threshold, breaker.cooldown_s) == expected
    for _ in range(expected[0]):
        assert monitor.status()["m"].circuit == "closed"
        breaker.record_failure("m")
    assert monitor.status()["m"].status == "unavailable"
    assert monitor.status()["m"].circuit == "open"
