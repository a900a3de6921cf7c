"""As app/executors/step_executors.py at dbfb398 (the AI executor calls the AI service)."""

from typing import Any, Dict

from app.interfaces.step_executor import StepExecutor
from app.types.workflow import StepExecutionResult, WorkflowNode


class InputStepExecutor(StepExecutor):
    async def execute_step(self, node: WorkflowNode, input_data: Dict[str, Any]):
        return StepExecutionResult(success=True, output_data={node.data.get("field", "input"): input_data})


class OutputStepExecutor(StepExecutor):
    async def execute_step(self, node: WorkflowNode, input_data: Dict[str, Any]):
        return StepExecutionResult(success=True, output_data={"result": input_data})


class AIStepExecutor(StepExecutor):
    async def execute_step(self, node: WorkflowNode, input_data: Dict[str, Any]):
        from app.services.ai_service import get_ai_service

        response = await get_ai_service().process_text(
            prompt=node.data.get("prompt", "Process this data"), context=input_data
        )
        if not response.is_success:
            return StepExecutionResult(success=False, output_data={}, error_message=response.error)
        return StepExecutionResult(
            success=True,
            output_data={"ai_response": response.content, "ai_model": response.model},
        )


class DefaultStepExecutor(StepExecutor):
    async def execute_step(self, node: WorkflowNode, input_data: Dict[str, Any]):
        return StepExecutionResult(success=True, output_data=input_data)
