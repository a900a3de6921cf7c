"""As app/services/step_executors/factory.py at dbfb398: classes keyed by StepType."""

from typing import Dict, Type

from .ai_executor import AIStepExecutor
from .base_executor import BaseStepExecutor, StepType
from .input_executor import InputStepExecutor


class StepExecutorFactory:
    _executors: Dict[StepType, Type[BaseStepExecutor]] = {
        StepType.INPUT: InputStepExecutor,
        StepType.AI: AIStepExecutor,
    }

    @classmethod
    def create_executor(cls, step_type: str) -> BaseStepExecutor:
        try:
            step_enum = StepType(step_type.lower())
            executor_class = cls._executors.get(step_enum)
            if not executor_class:
                raise ValueError(f"No executor found for step type: {step_type}")
            return executor_class()
        except ValueError as e:
            raise ValueError(f"Invalid step type: {step_type}") from e

    @classmethod
    def register_executor(cls, step_type: StepType, executor_class: Type[BaseStepExecutor]):
        cls._executors[step_type] = executor_class
