"""As app/interfaces/step_executor.py at dbfb398: an instance-level factory."""

from abc import ABC, abstractmethod
from typing import Any, Dict

from app.types.workflow import StepExecutionResult, WorkflowNode


class StepExecutor(ABC):
    @abstractmethod
    async def execute_step(
        self, node: WorkflowNode, input_data: Dict[str, Any]
    ) -> StepExecutionResult:
        pass


class StepExecutorFactory:
    def __init__(self):
        self._executors: Dict[str, StepExecutor] = {}

    def register_executor(self, step_type: str, executor: StepExecutor) -> None:
        self._executors[step_type] = executor

    def get_executor(self, step_type: str) -> StepExecutor:
        return self._executors.get(step_type, self._executors.get("default"))
