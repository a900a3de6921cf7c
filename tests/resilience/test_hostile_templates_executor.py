"""Hostile templates and hostile input through ``AIStepExecutor``: clear step errors, no call.

The executor renders off the event loop, so a template that spends its whole render
budget leaves the loop free for every other step; inputs that cannot be shown (a
``__str__`` that raises, a circular dict, an integer over Python's 4,300-digit limit, a
method instead of its result) fail the step as ``template_error`` (or ``invalid_input``)
with a message, never ``internal_error``. The provider is a loopback simulator that
counts every request it gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auterity_ai_step import AIStepExecutor, WorkflowNode, load_policy
from auterity_ai_step.cli.demo import simulated_policy
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.host import StepExecutionResult
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.simulator.server import Scenario, Simulator
from auterity_ai_step.store.ledger import Ledger

KEY = "sk-test-hostile-0123456789abcdefghijklmn"
SLOW = "{% for i in range(10000) %}{{ range(10000)|list|sort|length }}{% endfor %}"
BOMB = "{% set a='a'*60000 %}{% set b=[a]*10000 %}{{ [b]*10000 }}"


class Unprintable:
    """An input object whose ``__str__`` (and ``__repr__``, ``__format__``) raises."""

    def __str__(self) -> str:
        raise RuntimeError("this object cannot be shown")

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        raise RuntimeError("this object cannot be formatted")


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    return loop


HUGE_INT = 10**5000


class Rig:
    def __init__(self, sim: Simulator, ledger: Ledger) -> None:
        self.sim = sim
        policy = simulated_policy(load_policy(), sim.base_url)
        self.executor = AIStepExecutor(engine=Engine(PolicyStore.fixed(policy), ledger))

    async def run(self, data: dict[str, Any], input_data: Any) -> StepExecutionResult:
        node = WorkflowNode(id="hostile", type="ai", data={"max_tokens": 20, **data})
        return await self.executor.execute_step(node, input_data)


@pytest.fixture
async def rig(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    async with Simulator(Scenario()) as sim:
        ledger = Ledger(sqlite_url)
        try:
            yield Rig(sim, ledger)
        finally:
            ledger.close()


def _template_error(result: StepExecutionResult, *words: str) -> None:
    assert not result.success
    assert result.output_data["ai_error_type"] == "template_error", result.error_message
    assert result.error_message is not None
    assert result.error_message.startswith("AI step failed: ")
    for word in words:
        assert word in result.error_message


async def test_template_bomb_fails_with_the_limit_and_no_call(rig: Rig) -> None:
    result = await rig.run({"config_version": 2, "prompt": BOMB}, {})
    _template_error(result, "prompt (line 1)", "max_output_chars")
    assert rig.sim.count() == 0


async def test_event_loop_keeps_ticking_while_a_hostile_template_renders(rig: Rig) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    result = await rig.run({"config_version": 2, "prompt": SLOW}, {})
    during = ticks - before
    stop.set()
    await task
    # Rendered on the loop, the step would return before the ticker ran again.
    assert during >= 3, f"the event loop ticked {during} times during the render"
    _template_error(result, "max_")  # max_work or max_seconds, whichever comes first
    assert rig.sim.count() == 0


async def test_method_instead_of_its_result_is_refused(rig: Rig) -> None:
    result = await rig.run({"config_version": 2, "prompt": "Hi {{ name.upper }}"}, {"name": "a"})
    _template_error(result, "'upper' is a function or method", "name.upper()")
    legacy = await rig.run({"prompt": "Hi {name.upper}"}, {"name": "a"})
    _template_error(legacy, "'upper' is a function or method")
    assert rig.sim.count() == 0


@pytest.mark.parametrize(
    ("data", "input_data", "words"),
    [
        ({"prompt": "Hi {x}"}, {"x": Unprintable()}, "RuntimeError: this object cannot be"),
        ({"prompt": "Hi"}, {"x": Unprintable()}, "cannot be sent as JSON context"),
        (
            {"template": "lead_qualification"},
            {"customer_info": Unprintable()},
            "template 'lead_qualification'",
        ),
        ({"config_version": 2, "prompt": "Hi {{ x }}"}, {"x": Unprintable()}, "RuntimeError"),
        ({"prompt": "Hi {x}"}, {"x": _circular()}, "Circular reference"),
        ({"prompt": "Hi"}, {"x": _circular()}, "Circular reference"),
        ({"config_version": 2, "prompt": "{{ x|tojson }}"}, {"x": _circular()}, "Circular"),
        ({"prompt": "Hi {x}"}, {"x": HUGE_INT}, "more than 4300 digits"),
        ({"prompt": "Hi"}, {"x": HUGE_INT}, "more than 4300 digits"),
        ({"config_version": 2, "prompt": "{{ x }}"}, {"x": HUGE_INT}, "more than 4300 digits"),
        ({"config_version": 2, "prompt": "{{ x + 1 }}"}, {"x": HUGE_INT}, "4300 digits"),
    ],
)
async def test_inputs_that_cannot_be_shown_are_template_errors(
    rig: Rig, data: dict[str, Any], input_data: dict[str, Any], words: str
) -> None:
    _template_error(await rig.run(data, input_data), words)
    assert rig.sim.count() == 0


async def test_execution_id_too_long_for_str_is_invalid_input(rig: Rig) -> None:
    result = await rig.run({"prompt": "Hi"}, {"execution_id": HUGE_INT})
    assert not result.success
    assert result.output_data == {"ai_error_type": "invalid_input"}
    assert result.error_message == (
        "AI step failed: input_data['execution_id'] is an integer too long to use as an id"
    )
    assert rig.sim.count() == 0


async def test_a_circular_dict_the_prompt_shows_renders_like_repr(rig: Rig) -> None:
    result = await rig.run({"config_version": 2, "prompt": "{{ x }}"}, {"x": _circular()})
    assert result.success, result.error_message
    body = rig.sim.requests[-1].body
    assert body is not None
    sent = body["messages"][-1]["content"]
    assert sent == "{'name': 'loop', 'self': {...}}"


hostile_leaves = st.sampled_from([Unprintable(), _circular(), HUGE_INT, "x".upper, None, 1, "a"])
hostile_inputs = st.dictionaries(
    st.sampled_from(["x", "y", "data", "customer_info"]),
    hostile_leaves | st.lists(hostile_leaves, max_size=3),
    max_size=3,
)
prompts = st.sampled_from(
    [
        {"prompt": "{x} and {y}"},
        {"prompt": "plain"},
        {"prompt": "{x!r:>20}"},
        {"template": "lead_qualification", "template_variables": {"customer_info": "c"}},
        {"config_version": 2, "prompt": "{{ x }} {{ y }}"},
        {"config_version": 2, "prompt": "{{ input|tojson }}"},
        {"config_version": 2, "prompt": "{{ x|string }}{{ [x, y]|join(',') }}"},
        {"config_version": 2, "prompt": "{{ '%s' % (x,) }} {{ '{}'.format(y) }}"},
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=prompts, input_data=hostile_inputs)
def test_hostile_inputs_never_reach_internal_error(
    data: dict[str, Any], input_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    async def one() -> StepExecutionResult:
        async with Simulator(Scenario()) as sim:
            ledger = Ledger(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'ledger.db'}")
            try:
                return await Rig(sim, ledger).run(data, input_data)
            finally:
                ledger.close()

    result = asyncio.run(one())
    assert result.success or result.output_data.get("ai_error_type") in {
        "template_error",
        "invalid_input",
    }, result.error_message
