"""A trimmed app/services/step_executors/input_executor.py."""

from .base_executor import BaseStepExecutor, ExecutionResult, StepType


class InputStepExecutor(BaseStepExecutor):
    def __init__(self):
        super().__init__()
        self.step_type = StepType.INPUT

    async def execute(self, input_data, context):
        return ExecutionResult(success=True, data={"collected_data": input_data.get("data", {})})

    def validate_input(self, input_data):
        return isinstance(input_data, dict)
