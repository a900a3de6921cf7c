"""The plugin inside Auterity: both executor stacks, the host's ids, the host's classes.

Each test runs a workflow through the model host's own engine (tests/auterity_host), which
creates its execution id inside its run, and then reads every row of the real SQLite
ledger: all of them must carry the id the host used.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from host_support import ledger_rows

# A legacy node (str.format, no config_version) and a config_version 2 node whose first
# model fails on the provider (500), so its step writes a row per attempt.
WORKFLOW = """
import asyncio, json, uuid
from app.database import WORKFLOWS
WORKFLOW_ID = uuid.uuid4()
WORKFLOWS[WORKFLOW_ID] = {
    "nodes": [
        {"id": "summarise", "type": "ai",
         "data": {"prompt": "Summarise: {inquiry}", "model": "gpt-4o-mini"}},
        {"id": "reply", "type": "ai",
         "data": {"config_version": 2, "prompt": "Reply to {{ inquiry }}",
                  "model": "broken", "fallback_models": ["gpt-4o-mini"]}},
    ],
    "edges": [{"id": "e1", "source": "summarise", "target": "reply"}],
}
"""


def test_workflow_engine_records_every_attempt_under_the_engines_own_execution_id(
    in_host: Callable[[str], str], ledger_url: str
) -> None:
    out = in_host(
        WORKFLOW
        + """
from app.config.workflow_config import create_workflow_engine
from app.services.workflow_engine import WorkflowEngine
from auterity_ai_step.integrations.auterity import install_workflow_engine

install_workflow_engine()  # before the engines exist: they are made per request

async def main():
    runs = []
    for engine in (WorkflowEngine(), create_workflow_engine()):
        result = await engine.execute_workflow(WORKFLOW_ID, {"inquiry": "Is the Civic free?"})
        out = result.output_data
        runs.append([str(result.execution_id), result.status, out["ai_execution_id"],
                     out["ai_execution_id_source"], out["ai_model"], len(out["ai_attempts"])])
    print(json.dumps(runs))

asyncio.run(main())
"""
    )
    runs = json.loads(out)
    for execution_id, status, recorded_as, source, model, _ in runs:
        assert (status, recorded_as, source, model) == (
            "completed",
            execution_id,
            "context",
            "gpt-4o-mini",
        )
    rows = ledger_rows(ledger_url)
    # Every row is on a host execution, and each run has its own rows.
    assert {row["execution_id"] for row in rows} == {run[0] for run in runs}, rows
    for execution_id, *_, reply_attempts in runs:
        mine = [
            (r["node_id"], r["model_name"], r["status"])
            for r in rows
            if r["execution_id"] == execution_id
        ]
        summarise = [row for row in mine if row[0] == "summarise"]
        reply = [row for row in mine if row[0] == "reply"]
        assert summarise[-1] == ("summarise", "gpt-4o-mini", "success")
        assert len(reply) == reply_attempts  # every attempt the step reported is a row
        assert reply[0] == ("reply", "broken", "error")
        assert reply[-1] == ("reply", "gpt-4o-mini", "success")


def test_workflow_engine_install_is_undone_and_repeatable(in_host: Callable[[str], str]) -> None:
    out = in_host(
        """
from app.executors.step_executors import AIStepExecutor as HostAI
from app.services.workflow_engine import WorkflowEngine
from auterity_ai_step import AIStepExecutor
from auterity_ai_step.integrations.auterity import install_workflow_engine

first = install_workflow_engine()
second = install_workflow_engine()  # replaces the first, does not wrap twice
engine = WorkflowEngine()
assert engine.step_factory.get_executor("ai") is second.executor
assert isinstance(second.executor, AIStepExecutor)
second.uninstall()
assert isinstance(WorkflowEngine().step_factory.get_executor("ai"), HostAI)
assert WorkflowEngine._execute_step.__qualname__ == "WorkflowEngine._execute_step"
print("ok")
"""
    )
    assert out.strip() == "ok"


def test_execution_engine_records_under_the_runs_workflow_id(
    in_host: Callable[[str], str], ledger_url: str
) -> None:
    out = in_host(
        """
import asyncio, json
from app.services.step_executors.base_executor import BaseStepExecutor
from app.services.step_executors.factory import StepExecutorFactory
from app.services.workflow_execution_engine import WorkflowExecutionEngine
from auterity_ai_step.integrations.auterity import install_execution_engine

install_execution_engine()
executor = StepExecutorFactory.create_executor("ai")
assert isinstance(executor, BaseStepExecutor)

def definition(run_id):
    ai = {"config_version": 2, "prompt": "Reply to {{ inquiry }}",
          "model": "broken", "fallback_models": ["gpt-4o-mini"]}
    steps = {
        "collect": {"type": "input", "input": {"data": {"inquiry": "Is the Civic free?"}}},
        "reply": {"type": "ai", "depends_on": ["collect"], "input": ai, "max_retries": 0},
        "legacy": {"type": "ai", "depends_on": ["collect"], "max_retries": 0,
                   "input": {"prompt": "Summarise: {inquiry}", "model": "gpt-4o-mini"}},
    }
    return {"id": run_id, "steps": steps} if run_id else {"steps": steps}

async def main():
    runs = []
    for run_id in ("wf-run-7", None):
        result = await WorkflowExecutionEngine().execute_workflow(definition(run_id))
        assert result["status"] == "completed", result
        steps = result["results"]
        runs.append({name: [steps[name]["ai_execution_id"], steps[name]["ai_response"]]
                     for name in ("reply", "legacy")})
    print(json.dumps(runs))

asyncio.run(main())
"""
    )
    named, unnamed = json.loads(out)
    assert {step: ids[0] for step, ids in named.items()} == {
        "reply": "wf-run-7",
        "legacy": "wf-run-7",
    }
    generated = unnamed["reply"][0]
    assert unnamed["legacy"][0] == generated != "wf-run-7"  # one id for the whole run
    assert named["reply"][1]  # the simulator answered
    rows = ledger_rows(ledger_url)
    assert {row["execution_id"] for row in rows} == {"wf-run-7", generated}
    for run_id in ("wf-run-7", generated):
        run = Counter((r["node_id"], r["status"]) for r in rows if r["execution_id"] == run_id)
        assert run[("legacy", "success")] == run[("reply", "success")] == 1
        assert run[("reply", "error")] >= 1
        # Every row is one of the run's two AI steps. (A transient failure on a loaded
        # machine may add an error row; which rows exist is the engine's business, whose
        # id they carry is this test's.)
        errors = [
            (r["node_id"], r["model_name"], r["error_type"]) for r in rows if r["status"] == "error"
        ]
        assert {node for node, _ in run} == {"reply", "legacy"}, errors


def test_errors_root_at_the_hosts_ai_service_error(in_host: Callable[[str], str]) -> None:
    out = in_host(
        """
from app.exceptions import AIServiceError as HostAIServiceError
from app.utils.retry_utils import AI_SERVICE_RETRY, should_retry_exception
from auterity_ai_step import AIServiceError, AuterityAIError, PromptTemplate, StepConfigError
from auterity_ai_step.errors import AuthenticationFailed, RateLimited

assert issubclass(AuterityAIError, HostAIServiceError)
try:
    PromptTemplate("Hi {name}", ["name"]).format()
except HostAIServiceError as exc:  # the host's own handler catches the plugin's error
    assert isinstance(exc, AIServiceError) and exc.code == "AI_SERVICE_ERROR"
    print("caught:", exc)
# The host's class-based retry decision sees the plugin's errors ...
assert should_retry_exception(StepConfigError(["prompt: required"]), AI_SERVICE_RETRY, [])
# ... and, by ``retryable``, keeps the plugin's word on what may be retried.
assert should_retry_exception(RateLimited("slow down", model="m"), [], [])
assert not should_retry_exception(AuthenticationFailed("bad key", model="m"), [], [])
assert not StepConfigError(["x"]).retryable
print("ok")
"""
    )
    assert out.splitlines() == ["caught: Missing required variables: ['name']", "ok"]


def test_service_keeps_the_hosts_model_member_and_replaces_the_hosts_service(
    in_host: Callable[[str], str], ledger_url: str
) -> None:
    out = in_host(
        """
import asyncio
from app.services import ai_service as host
from auterity_ai_step import AIService
from auterity_ai_step.integrations.auterity import install_ai_service

service = AIService(model=host.AIModelType.GPT_4, max_retries=5, retry_delay=2.0)
assert service.model == host.AIModelType.GPT_4
installed = install_ai_service(AIService(model=host.AIModelType.GPT_3_5_TURBO))
assert host.get_ai_service() is installed
reply = asyncio.run(host.get_ai_service().process_text("Hello", model="gpt-4o-mini"))
print(reply.is_success, reply.model)
"""
    )
    assert out.strip() == "True gpt-4o-mini"
    assert [row["model_name"] for row in ledger_rows(ledger_url)] == ["gpt-4o-mini"]
