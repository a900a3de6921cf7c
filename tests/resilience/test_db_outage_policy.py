"""The database down when a host starts and while steps check the policy.

The executor must construct on the policy file alone, log the unreadable overrides once (not
at every check), not hammer a dead database, and pick the overrides up once it answers.
Real PostgreSQL (stopped and started, as in ``tests/store/test_outage.py``) or an unreachable
URL; providers only on the loopback simulator.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pg_server import PostgresServer
from sim_policy import sim_policy_data
from sqlalchemy.engine import make_url

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import ModelBehaviour, Scenario, Simulator
from auterity_ai_step.store import Ledger

PASSWORD = "s3cret-db-pw-0123"
FREE_STEP = {"config_version": 2, "prompt": "Hi", "model": "sim-free", "max_tokens": 20}
POLICY_LOGGER = "auterity_ai_step.policy"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(Scenario(default=ModelBehaviour(completion_tokens=5))) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-outage-0123456789abcdefghijkl")


def _policy_file(tmp_path: Path, base: str) -> Path:
    """The simulator's models plus ``sim-free``: no price and no cost controls, so a step
    on it reserves nothing in the database (it can run while the database is down)."""
    data = sim_policy_data(base)
    data["models"]["openai"]["sim-free"] = {
        "litellm_model": "openai/sim-free-model",  # not in LiteLLM's price map
        "context_window": 32000,
        "max_output_tokens": 1000,
        "api_base": f"{base}/v1",
        "api_key_env": "OPENAI_API_KEY",
    }
    data["cost_controls"] = {}
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _dealer(base: str) -> dict[str, Any]:
    return {
        "provider": "openai",
        "litellm_model": "openai/dealer-llm",
        "context_window": 32000,
        "max_output_tokens": 2000,
        "api_base": f"{base}/v1",
        "api_key_env": "OPENAI_API_KEY",
    }


def _with_password(url: str) -> str:
    # The throwaway cluster trusts every local connection, so any password is accepted.
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == POLICY_LOGGER and r.levelno == level
    ]


async def _run(executor: AIStepExecutor, data: Mapping[str, Any], exec_id: str) -> Any:
    node = WorkflowNode(id="n", type="ai", data=dict(data))
    return await executor.execute_step(node, {}, execution_id=exec_id)


@pytest.mark.postgres
async def test_executor_starts_and_runs_while_postgres_is_down(
    postgres_server: PostgresServer,
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = _with_password(postgres_server.create_database("auterity_start_outage"))
    policy = _policy_file(tmp_path, sim.base_url)
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(policy))
    monkeypatch.setenv("AUTERITY_AI_DATABASE_URL", url)
    caplog.set_level(logging.INFO, logger=POLICY_LOGGER)

    postgres_server.stop()
    try:
        executor = AIStepExecutor()  # was: StoreError, the host could not start
        store = executor.policy_store
        version = store.current().version
        for _ in range(12):  # 12 checks at the default 0.05 s interval, one warning
            time.sleep(0.06)
            assert store.current().version == version
        result = await _run(executor, FREE_STEP, "during-outage")
        assert result.success, result.error_message
        assert result.output_data["ai_model"] == "sim-free"
        assert executor.ledger.outbox.pending() == 1  # its usage waits in the outbox
        dealer = await _run(executor, {**FREE_STEP, "model": "dealer-llm"}, "unknown")
        assert "'dealer-llm' is not a known model" in dealer.error_message
    finally:
        postgres_server.start()

    warnings = _messages(caplog, logging.WARNING)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        f"cannot read model configuration overrides at start (using policy version {version} "
        f"from {policy} alone until they can be read): "
    )
    assert "policy change refused" not in warnings[0]
    assert "auterity_start_outage" in warnings[0]  # names the database...
    assert PASSWORD not in " ".join(r.getMessage() for r in caplog.records)  # ...not its password
    assert store.last_error is not None and store.overrides_error is not None

    # The database is back: a configuration written there reaches the policy.
    executor.ledger.put_model_configurations({"dealer-llm": _dealer(sim.base_url)})
    store.reload()  # what the next check does once the 5 s retry interval has passed
    assert "dealer-llm" in store.current().model_names
    assert store.last_error is None and store.overrides_error is None
    infos = _messages(caplog, logging.INFO)
    assert any(m.startswith("model configuration overrides can be read again") for m in infos)
    result = await _run(executor, {**FREE_STEP, "model": "dealer-llm"}, "after-outage")
    assert result.success, result.error_message
    # Writing the new step's usage flushed the outbox: nothing was lost.
    assert executor.ledger.outbox.pending() == 0
    assert len(executor.ledger.execution_usage("during-outage")) == 1
    assert len(_messages(caplog, logging.WARNING)) == 1
    executor.ledger.close()


@pytest.mark.postgres
def test_override_reads_back_off_log_once_and_recover(
    postgres_server: PostgresServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = _with_password(postgres_server.create_database("auterity_check_outage"))
    policy = _policy_file(tmp_path, "http://127.0.0.1:9")
    ledger = Ledger(url)
    reads: list[float] = []

    def overrides() -> tuple[str, dict[str, dict[str, Any]]]:
        reads.append(time.monotonic())
        return ledger.model_configurations()

    store = PolicyStore(policy, overrides=overrides, check_interval_s=0, override_retry_s=0.3)
    good = store.current()
    caplog.set_level(logging.INFO, logger=POLICY_LOGGER)
    postgres_server.stop()
    try:
        before = len(reads)
        for _ in range(500):  # every step on the event loop calls current()
            assert store.current() is good
        assert len(reads) - before == 1  # one failed read, then back off
        time.sleep(0.35)
        for _ in range(100):
            assert store.current() is good
        assert len(reads) - before == 2  # one retry after the interval, failing the same way
        assert store.reload() is good  # an explicit reload retries at once
        assert len(reads) - before == 3
    finally:
        postgres_server.start()

    warnings = _messages(caplog, logging.WARNING)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        f"cannot read model configuration overrides (keeping policy version {good.version}): "
    )
    assert "policy change refused" not in warnings[0] and PASSWORD not in warnings[0]
    assert store.last_error == f"cannot read model configuration overrides: {store.overrides_error}"

    # Another worker writes a configuration once the database is back; the next check
    # after the retry interval reads it, without a reload.
    other = Ledger(url)
    other.put_model_configurations({"dealer-llm": _dealer("http://127.0.0.1:9")})
    time.sleep(0.35)
    assert "dealer-llm" in store.current().model_names
    assert store.last_error is None
    infos = _messages(caplog, logging.INFO)
    assert [m for m in infos if "can be read again" in m] == [
        f"model configuration overrides can be read again (policy version {good.version})"
    ]
    # Invalid content is still a refused change, logged as before.
    other.put_model_configurations({"dealer-llm": {"provider": "openai", "quality": 99}})
    assert "dealer-llm" in store.current().model_names
    refused = _messages(caplog, logging.WARNING)[1:]
    assert len(refused) == 1 and refused[0].startswith("model policy change refused")
    ledger.close()
    other.close()


async def test_executor_starts_on_an_unreachable_database_url(
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql+psycopg://auterity:{PASSWORD}@127.0.0.1:{_closed_port()}/nowhere"
    policy = _policy_file(tmp_path, sim.base_url)
    monkeypatch.setenv("AUTERITY_AI_POLICY", str(policy))
    monkeypatch.setenv("AUTERITY_AI_DATABASE_URL", url)
    caplog.set_level(logging.INFO, logger=POLICY_LOGGER)

    executor = AIStepExecutor()
    result = await _run(executor, FREE_STEP, "unreachable")
    assert result.success, result.error_message
    assert executor.ledger.outbox.pending() == 1
    # Retried at every check (no back-off here), the same failure is still logged once.
    ledger = executor.ledger
    store = PolicyStore(
        policy, overrides=ledger.model_configurations, check_interval_s=0, override_retry_s=0
    )
    for _ in range(20):
        store.current()
    warnings = _messages(caplog, logging.WARNING)
    assert len(warnings) == 2, warnings  # one per store, at its start
    assert all("cannot read model configuration overrides at start" in m for m in warnings)
    assert all("/nowhere): " in m and "auterity:***@" in m for m in warnings)
    assert PASSWORD not in " ".join(r.getMessage() for r in caplog.records)
    ledger.close()
