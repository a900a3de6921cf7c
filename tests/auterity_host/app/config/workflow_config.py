"""As app/config/workflow_config.py at dbfb398: builds its own factory for each engine."""

from app.executors.step_executors import (
    AIStepExecutor,
    DefaultStepExecutor,
    InputStepExecutor,
    OutputStepExecutor,
)
from app.interfaces.step_executor import StepExecutorFactory
from app.services.workflow_engine import WorkflowEngine
from app.types.workflow import RetryConfig


def create_workflow_engine() -> WorkflowEngine:
    factory = StepExecutorFactory()
    factory.register_executor("input", InputStepExecutor())
    factory.register_executor("output", OutputStepExecutor())
    factory.register_executor("ai", AIStepExecutor())
    factory.register_executor("default", DefaultStepExecutor())
    retry_config = RetryConfig(max_attempts=3, delay_seconds=1.0, backoff_multiplier=2.0)
    return WorkflowEngine(step_factory=factory, retry_config=retry_config)
