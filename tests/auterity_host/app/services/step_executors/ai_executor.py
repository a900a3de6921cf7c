"""As app/services/step_executors/ai_executor.py at dbfb398: a placeholder answer."""

from .base_executor import BaseStepExecutor, ExecutionResult, StepType


class AIStepExecutor(BaseStepExecutor):
    def __init__(self):
        super().__init__()
        self.step_type = StepType.AI

    async def execute(self, input_data, context):
        if not self.validate_input(input_data):
            return ExecutionResult(success=False, data={}, error="Invalid AI input data")
        return ExecutionResult(success=True, data={"ai_response": f"AI processed: {input_data['prompt']}"})

    def validate_input(self, input_data):
        return isinstance(input_data, dict) and "prompt" in input_data
