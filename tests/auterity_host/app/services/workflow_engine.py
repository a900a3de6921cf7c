"""As app/services/workflow_engine.py at dbfb398, minus the database and monitoring.

The execution id is created inside ``execute_workflow``; each engine has its own factory
(``_create_default_factory`` unless one is passed); steps run through
``_execute_step_with_retry`` -> ``_execute_step(db, execution, node, input_data)``.
"""

import logging
from collections import defaultdict, deque
from typing import Any, Dict, List, Optional
from uuid import UUID

from app.database import WORKFLOWS, WorkflowExecution, get_db_session
from app.exceptions import WorkflowExecutionError
from app.executors.step_executors import (
    AIStepExecutor,
    DefaultStepExecutor,
    InputStepExecutor,
    OutputStepExecutor,
)
from app.interfaces.step_executor import StepExecutorFactory
from app.types.workflow import RetryConfig, WorkflowEdge, WorkflowNode


class WorkflowStepError(Exception):
    pass


class ExecutionResult:
    def __init__(self, execution_id, status, output_data=None, error_message=None):
        self.execution_id = execution_id
        self.status = status
        self.output_data = output_data or {}
        self.error_message = error_message


class WorkflowEngine:
    def __init__(self, step_factory: Optional[StepExecutorFactory] = None, retry_config=None):
        self.logger = logging.getLogger(__name__)
        self.step_factory = step_factory or self._create_default_factory()
        self.retry_config = retry_config or RetryConfig()

    def _create_default_factory(self) -> StepExecutorFactory:
        factory = StepExecutorFactory()
        factory.register_executor("input", InputStepExecutor())
        factory.register_executor("output", OutputStepExecutor())
        factory.register_executor("ai", AIStepExecutor())
        factory.register_executor("default", DefaultStepExecutor())
        return factory

    async def execute_workflow(
        self, workflow_id: UUID, input_data: Optional[Dict[str, Any]] = None
    ) -> ExecutionResult:
        input_data = input_data or {}
        execution_id = None
        try:
            with get_db_session() as db:
                workflow = WORKFLOWS.get(workflow_id)
                if not workflow:
                    raise WorkflowExecutionError(f"Workflow {workflow_id} not found or inactive")
                execution = WorkflowExecution(workflow_id=workflow_id, input_data=input_data)
                db.add(execution)
                db.commit()
                execution_id = execution.id
                execution.status = "running"
                output_data = await self._execute_workflow_steps(
                    db, execution, workflow, input_data
                )
                execution.status = "completed"
                execution.output_data = output_data
                return ExecutionResult(execution_id, "completed", output_data)
        except Exception as e:
            if isinstance(e, WorkflowExecutionError):
                raise
            raise WorkflowExecutionError(f"Workflow execution failed: {e}")

    async def _execute_workflow_steps(self, db, execution, workflow_definition, input_data):
        raw_nodes = workflow_definition.get("nodes", [])
        raw_edges = workflow_definition.get("edges", [])
        if not raw_nodes:
            raise WorkflowExecutionError("Workflow has no nodes to execute")
        nodes = [WorkflowNode(id=n["id"], type=n["type"], data=n.get("data", {})) for n in raw_nodes]
        edges = [WorkflowEdge(id=e["id"], source=e["source"], target=e["target"]) for e in raw_edges]
        current_data = input_data.copy()
        for node_id in self._build_execution_order(nodes, edges):
            node = next(n for n in nodes if n.id == node_id)
            step_output = await self._execute_step_with_retry(db, execution, node, current_data)
            current_data.update(step_output)
        return current_data

    def _build_execution_order(self, nodes: List[WorkflowNode], edges: List[WorkflowEdge]):
        graph, in_degree = defaultdict(list), {node.id: 0 for node in nodes}
        for edge in edges:
            graph[edge.source].append(edge.target)
            in_degree[edge.target] += 1
        queue = deque(n for n, d in in_degree.items() if d == 0)
        order = []
        while queue:
            current = queue.popleft()
            order.append(current)
            for neighbour in graph[current]:
                in_degree[neighbour] -= 1
                if in_degree[neighbour] == 0:
                    queue.append(neighbour)
        return order

    async def _execute_step_with_retry(self, db, execution, node, input_data):
        last_error = None
        for attempt in range(1, self.retry_config.max_attempts + 1):
            try:
                return await self._execute_step(db, execution, node, input_data)
            except Exception as e:
                last_error = e
        raise WorkflowStepError(f"Step {node.id} failed after {attempt} attempts: {last_error}")

    async def _execute_step(self, db, execution, node, input_data):
        step_name = node.data.get("label", node.id)
        executor = self.step_factory.get_executor(node.type)
        result = await executor.execute_step(node, input_data)
        execution.logs.append({"step_name": step_name, "output_data": result.output_data})
        if not result.success:
            raise WorkflowStepError(result.error_message or "Step execution failed")
        return result.output_data
