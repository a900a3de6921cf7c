"""Plain-substitution prompts render on the event loop; every other template in a thread.

A template that only shows variables does work bounded by the output limit, so a thread hop
would cost more than the render. Anything that can spend the render budget (a loop, a
filter, a call, an operator) must keep rendering off the loop, where a hostile template
cannot freeze the worker.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sim_policy import sim_policy_data, sim_policy_file

from auterity_ai_step import AIStepExecutor, WorkflowNode
from auterity_ai_step.contract.policy import parse_policy
from auterity_ai_step.contract.step import validate_step_config
from auterity_ai_step.contract.templates import (
    build_messages,
    is_plain_substitution,
    renders_quickly,
)
from auterity_ai_step.core import executor as executor_module
from auterity_ai_step.core.engine import Engine
from auterity_ai_step.core.policy_source import PolicyStore
from auterity_ai_step.routing.fake_gateway import ScriptedGateway, answer
from auterity_ai_step.store.ledger import Ledger


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("Hi {{ name }}", True),
        ('{{ customer.name }} asks about {{ car["model"] }}', True),
        ("no variables at all {# a comment #}", True),
        ("{{ name | upper }}", False),
        ("{% for i in items %}{{ i }}{% endfor %}", False),
        ("{% if vip %}VIP{% endif %}", False),
        ("{{ a ~ b }}", False),
        ('{{ "x" * 9 }}', False),
        ("{{ text.center(100) }}", False),
        ("{{ items[1:3] }}", False),
        ("{{ unclosed", False),
    ],
)
def test_only_shown_variables_count_as_plain_substitution(source: str, plain: bool) -> None:
    assert is_plain_substitution(source) is plain


def _config(tmp_path: Path, **step: Any) -> Any:
    policy = parse_policy(sim_policy_data("http://127.0.0.1:9"))
    return validate_step_config({"config_version": 2, "model": "gpt-4o-mini", **step}, policy)


def test_a_step_renders_quickly_once_every_template_is_plain_and_compiled(tmp_path: Path) -> None:
    data = {"name": "Dana", "dealer": "Riverside Honda", "d": "x", "a": "y"}
    fresh = _config(tmp_path, prompt="Hi {{ name }}!", system="For {{ dealer }}!")
    assert not renders_quickly(fresh)  # never rendered: parsing and compiling are ahead
    assert build_messages(fresh, data)[1]["content"] == "Hi Dana!"
    assert renders_quickly(fresh)
    filtered = _config(tmp_path, prompt="Hi {{ name }}!", system="{{ d | upper }}")
    build_messages(filtered, data)
    assert not renders_quickly(filtered)
    messages = [
        {"role": "user", "content": "{{ a }}?"},
        {"role": "user", "content": "{{ a.upper() }}"},
    ]
    listed = _config(tmp_path, messages=messages)
    build_messages(listed, data)
    assert not renders_quickly(listed)
    named = _config(tmp_path, template="customer_inquiry")
    assert not renders_quickly(named)


@pytest.mark.parametrize(
    ("prompt", "on_loop"),
    [("Hello {{ name }}", True), ("{% for c in name %}{{ c }}{% endfor %}", False)],
)
async def test_where_the_executor_renders(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, prompt: str, on_loop: bool
) -> None:
    """The first render of a template (parse, compile) is in the render pool; later
    renders of plain substitution are on the loop, anything else stays in the pool."""
    provider = ScriptedGateway(default=answer(completion_tokens=5))
    path = sim_policy_file(tmp_path, "http://127.0.0.1:9")
    executor = AIStepExecutor(
        engine=Engine(PolicyStore(path), Ledger(sqlite_url), gateway=provider)
    )
    threads: list[str] = []
    real = executor_module.build_messages

    def recorded(config: Any, data: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(config, data)

    monkeypatch.setattr(executor_module, "build_messages", recorded)
    node = WorkflowNode(
        id="n", type="ai", data={"config_version": 2, "prompt": prompt, "model": "gpt-4o-mini"}
    )
    for run in ("x", "y"):
        result = await executor.execute_step(node, {"name": "Dana"}, execution_id=run)
        assert result.success, result.error_message
    loop = threading.current_thread().name
    assert threads[0].startswith("auterity-render")
    assert (threads[1] == loop) is on_loop
    assert threads[1].startswith("auterity-render") is not on_loop
    executor.ledger.close()
