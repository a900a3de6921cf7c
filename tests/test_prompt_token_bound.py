"""The prompt's byte bound: never below a tokenizer's count, and used only where it is sound.

A step that names its ``max_tokens`` and fits every window is priced on the UTF-8 byte
count, with no tokenizer; the worst case it reserves is then at least the one the exact
count gives. A limit that refuses the coarse bound gets the exact count before it stands.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from auterity_ai_step import AIStepExecutor, WorkflowNode, load_policy
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.contract.policy import Policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.core.run_types import billable_prompt_tokens, prompt_token_bound
from auterity_ai_step.routing import gateway
from auterity_ai_step.simulator.server import Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

TOKENIZED = ("gpt-4o-mini", "claude-haiku-4-5", "llama3.1", "command-r")
PIECES = ["a", " b", "\n", "é", "中文", "🙂", "<|endoftext|>", "  ", "Civic 2024", "\u0000"]


def _messages(rng: random.Random) -> list[dict[str, str]]:
    return [
        {
            "role": rng.choice(["system", "user", "assistant"]),
            "content": "".join(rng.choice(PIECES) for _ in range(rng.choice([0, 1, 5, 80, 400]))),
        }
        for _ in range(rng.choice([1, 2, 3]))
    ]


@pytest.mark.parametrize("name", TOKENIZED)
def test_the_byte_bound_is_never_below_the_tokenizers_count(name: str) -> None:
    model = load_policy().models[name]
    rng = random.Random(name)
    for _ in range(60):
        messages = _messages(rng)
        assert prompt_token_bound(messages) >= gateway.count_tokens(model, messages), messages


def test_the_bound_counts_bytes_not_characters() -> None:
    ascii_bound = prompt_token_bound([{"role": "user", "content": "ab"}])
    emoji_bound = prompt_token_bound([{"role": "user", "content": "🙂🙂"}])
    assert emoji_bound - ascii_bound == 8 - 2


class Rig:
    def __init__(self, policy: Policy, ledger: Ledger) -> None:
        self.policy = policy
        self.ledger = ledger
        self.executor = AIStepExecutor(engine=Engine(PolicyStore.fixed(policy), ledger))

    async def run(self, data: dict[str, Any], **inputs: Any) -> Any:
        node = WorkflowNode(id="n", type="ai", data=data)
        return await self.executor.execute_step(node, inputs)


@pytest.fixture
async def rig(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-secret")
    async with Simulator(Scenario()) as sim:
        ledger = Ledger(sqlite_url)
        yield Rig(simulated_policy(load_policy(), sim.base_url), ledger)
        ledger.close()


def _no_tokenizer(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count calls to the tokenizer path; the gateway's own usage estimate is not in play."""
    calls: list[int] = []
    real = gateway.count_tokens

    def counting(*args: Any) -> int:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(gateway, "count_tokens", counting)
    return calls


async def test_a_step_with_max_tokens_runs_without_the_tokenizer(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _no_tokenizer(monkeypatch)
    step = {"config_version": 2, "prompt": "Hi {{ n }}", "model": "gpt-4o-mini", "max_tokens": 50}
    result = await rig.run(step, n="Dana")
    assert result.success, result.error_message
    assert calls == []


async def test_a_step_without_max_tokens_is_counted_exactly(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its output cap depends on the prompt's count, so the bound would change it."""
    calls = _no_tokenizer(monkeypatch)
    step = {"config_version": 2, "prompt": "Hi {{ n }}", "model": "gpt-4o-mini"}
    result = await rig.run(step, n="Dana")
    assert result.success, result.error_message
    assert calls


async def test_a_limit_that_refuses_the_bound_gets_the_exact_count(rig: Rig) -> None:
    """A long English prompt: ~4 bytes a token. Its cost_limit fits the worst case on the
    exact count but not on the byte bound; the step still runs, on the exact count."""
    text = "The customer asks whether the blue Civic is still on the lot. " * 64
    messages = [{"role": "user", "content": text}]
    model = rig.policy.models["gpt-4o"]
    exact = gateway.count_tokens(model, messages)
    bound = prompt_token_bound(messages)
    assert model.input_cost_per_1k is not None and model.output_cost_per_1k is not None

    def worst(tokens: int) -> Decimal:
        assert model.input_cost_per_1k is not None and model.output_cost_per_1k is not None
        billed = billable_prompt_tokens(tokens)
        return (billed * model.input_cost_per_1k + 10 * model.output_cost_per_1k) / 1000

    limit = (worst(exact) + worst(bound)) / 2
    assert worst(exact) < limit < worst(bound)
    step = {
        "config_version": 2,
        "prompt": "{{ text }}",
        "model": "gpt-4o",
        "policy_fallbacks": False,
        "max_tokens": 10,
        "cost_limit": float(limit),
    }
    result = await rig.run(step, text=text)
    assert result.success, result.error_message
    assert result.output_data["ai_model"] == "gpt-4o"
