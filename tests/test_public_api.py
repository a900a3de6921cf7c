"""The package root is the public API: its names are pinned here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

import auterity_ai_step

EXPECTED = {
    "AIModelType",
    "AIResponse",
    "AIService",
    "AIServiceError",
    "AIStepExecutor",
    "AuterityAIError",
    "DEFAULT_TEMPLATES",
    "LimitExceeded",
    "LiteLLMService",
    "ModelConfig",
    "ModelProvider",
    "Policy",
    "PolicyError",
    "PolicyStore",
    "PromptTemplate",
    "ProviderError",
    "StepConfig",
    "StepConfigError",
    "StepExecutionResult",
    "TemplateError",
    "WorkflowNode",
    "__version__",
    "execution_context",
    "get_ai_service",
    "load_policy",
    "set_ai_service",
    "validate_step_config",
}


def test_all_is_pinned() -> None:
    assert set(auterity_ai_step.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(auterity_ai_step, name) is not None
    assert sorted(dir(auterity_ai_step)) == sorted(EXPECTED)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        auterity_ai_step.nope  # noqa: B018


def test_entry_point_finds_the_executor() -> None:
    found = entry_points(group="auterity.step_executors", name="ai")
    assert [ep.load() for ep in found] == [auterity_ai_step.AIStepExecutor]


def test_inside_auterity_the_host_classes_are_used(tmp_path: object) -> None:
    """With ``app.interfaces.step_executor`` importable, the executor subclasses the host's."""
    host = tmp_path / "app" / "interfaces"  # type: ignore[operator]
    host.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")  # type: ignore[operator]
    (host / "__init__.py").write_text("")
    (host / "step_executor.py").write_text(
        textwrap.dedent(
            """
            from abc import ABC, abstractmethod
            from dataclasses import dataclass

            @dataclass
            class WorkflowNode:
                id: str
                type: str
                data: dict
                position: dict | None = None

            @dataclass
            class StepExecutionResult:
                success: bool
                output_data: dict
                error_message: str | None = None
                duration_ms: int | None = None

            class StepExecutor(ABC):
                @abstractmethod
                async def execute_step(self, node, input_data): ...
            """
        )
    )
    script = textwrap.dedent(
        """
        import asyncio
        from app.interfaces import step_executor as host
        from auterity_ai_step import AIStepExecutor, WorkflowNode
        from auterity_ai_step.core.host import RUNNING_IN_HOST
        assert RUNNING_IN_HOST
        assert issubclass(AIStepExecutor, host.StepExecutor)
        assert WorkflowNode is host.WorkflowNode
        node = host.WorkflowNode(id="n", type="ai", data={"config_version": 2})
        result = asyncio.run(AIStepExecutor().execute_step(node, {}))
        assert isinstance(result, host.StepExecutionResult), type(result)
        assert not result.success and "prompt" in result.error_message
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,  # type: ignore[arg-type]
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
