"""As app/services/workflow_execution_engine.py at dbfb398, trimmed to the execution path.

Steps of a batch run as asyncio tasks; each gets an executor from the class-level factory
and ``execute(input_data, context)`` with ``context["workflow_id"]`` (the plan's id, from the
definition's ``"id"``), ``step_id``, ``timestamp`` and ``attempt``.
"""

import asyncio
from collections import defaultdict
from datetime import datetime
from typing import Any, Dict

from .step_executors.factory import StepExecutorFactory


class WorkflowExecutionEngine:
    def __init__(self, retry_delay: float = 0.0):
        self.step_results: Dict[str, Dict[str, Any]] = defaultdict(dict)
        self.factory = StepExecutorFactory()
        self.retry_delay = retry_delay

    async def execute_workflow(self, workflow_definition: Dict[str, Any]) -> Dict[str, Any]:
        try:
            workflow_id = workflow_definition.get("id", "")
            steps = workflow_definition.get("steps", {})
            for batch in self._batches(steps):
                tasks = [
                    (step_id, asyncio.create_task(self._execute_step(workflow_id, step_id, steps)))
                    for step_id in batch
                ]
                failed = []
                for step_id, task in tasks:
                    ok, result = await task
                    if not ok:
                        failed.append(step_id)
                    self.step_results[workflow_id][step_id] = result
                if failed:
                    return {"status": "failed", "failed_steps": failed}
            return {"status": "completed", "results": self.step_results[workflow_id]}
        except Exception as e:
            return {"status": "error", "error": str(e)}

    def _batches(self, steps):
        done, batches = set(), []
        while len(done) < len(steps):
            batch = [s for s, c in steps.items() if s not in done and set(c.get("depends_on", [])) <= done]
            if not batch:
                raise ValueError("cycle")
            batches.append(batch)
            done.update(batch)
        return batches

    async def _execute_step(self, workflow_id, step_id, steps):
        config = steps[step_id]
        input_data = dict(config.get("input", {}))
        deps = {d: self.step_results[workflow_id][d] for d in config.get("depends_on", [])}
        if deps and config.get("type") == "ai" and "data" not in input_data:
            ai_context = {}
            for dep_result in deps.values():
                ai_context.update(dep_result.get("collected_data", {}))
            input_data["data"] = ai_context
        max_attempts = config.get("max_retries", 3) + 1
        for attempt in range(max_attempts):
            try:
                executor = self.factory.create_executor(config.get("type", "process"))
                context = {
                    "workflow_id": workflow_id,
                    "step_id": step_id,
                    "timestamp": datetime.now().isoformat(),
                    "attempt": attempt + 1,
                }
                result = await executor.execute(input_data, context)
                if result.success:
                    return True, result.data
                raise ValueError(result.error)
            except Exception as e:
                if attempt == max_attempts - 1:
                    return False, {"error": str(e), "retry_count": attempt}
                await asyncio.sleep(self.retry_delay)
        return False, {"error": "Max retries exceeded"}
