"""The host's step-executor contract: Auterity's own classes when importable, else twins.

Inside an Auterity process (``app.interfaces.step_executor`` importable) the executor must be
a real subclass of the host's ``StepExecutor`` and return the host's ``StepExecutionResult``;
standalone, these identical definitions stand in so the plugin runs and tests anywhere.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any


@dataclass
class _WorkflowNode:
    """A node of a workflow; an AI step is ``type == "ai"`` with its config in ``data``."""

    id: str
    type: str
    data: dict[str, Any]
    position: dict[str, Any] | None = None


@dataclass
class _StepExecutionResult:
    """What an executor hands back; ``output_data`` is merged into the next step's input."""

    success: bool
    output_data: dict[str, Any]
    error_message: str | None = None
    duration_ms: int | None = None


class _StepExecutor(ABC):
    """The engine's executor interface."""

    @abstractmethod
    async def execute_step(self, node: Any, input_data: dict[str, Any]) -> Any:
        """Run one step; must not raise."""


def _load_host() -> tuple[Any, Any, Any, bool]:
    try:
        module = importlib.import_module("app.interfaces.step_executor")
        return (
            module.WorkflowNode,
            module.StepExecutionResult,
            module.StepExecutor,
            True,
        )
    except (ImportError, AttributeError):
        return _WorkflowNode, _StepExecutionResult, _StepExecutor, False


if TYPE_CHECKING:
    WorkflowNode = _WorkflowNode
    StepExecutionResult = _StepExecutionResult
    StepExecutor = _StepExecutor
    RUNNING_IN_HOST: bool
else:
    WorkflowNode, StepExecutionResult, StepExecutor, RUNNING_IN_HOST = _load_host()

__all__ = ["RUNNING_IN_HOST", "StepExecutionResult", "StepExecutor", "WorkflowNode"]
