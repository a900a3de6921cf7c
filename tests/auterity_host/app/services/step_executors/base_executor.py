"""As app/services/step_executors/base_executor.py at dbfb398 (the second stack)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict


class StepType(Enum):
    INPUT = "input"
    PROCESS = "process"
    AI = "ai"
    OUTPUT = "output"
    CONDITION = "condition"


@dataclass
class ExecutionResult:
    success: bool
    data: Dict[str, Any]
    error: str = None
    metadata: Dict[str, Any] = None


class BaseStepExecutor(ABC):
    def __init__(self):
        self.step_type = None

    @abstractmethod
    async def execute(self, input_data: Dict[str, Any], context: Dict[str, Any]) -> ExecutionResult:
        pass

    @abstractmethod
    def validate_input(self, input_data: Dict[str, Any]) -> bool:
        pass

    def get_step_type(self) -> StepType:
        return self.step_type
