"""The drop-in AI step executor: node in, answer out, every attempt accounted for.

Wires the layers and nothing else: schema validation (contract.step), prompt rendering
(contract.templates), the attempt loop (engine), and the host's result type. It never
raises: every failure is ``success=False`` with an ``error_message`` that says what was
tried and why each failed, and an ``ai_error_type`` key in ``output_data`` that names the
kind of failure (see :meth:`AIStepExecutor.execute_step`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

from ..contract.policy import Policy
from ..contract.step import validate_step_config
from ..contract.templates import build_messages, renders_quickly
from ..errors import (
    AuterityAIError,
    LimitExceeded,
    PolicyError,
    StepConfigError,
    StoreError,
    TemplateError,
    redact,
)
from ..money.limits import BudgetAlert
from ..money.prices import money_text
from ..routing.circuit import CircuitBreaker, Quarantine
from ..store.ledger import Ledger
from .engine import Engine
from .host import StepExecutionResult, StepExecutor, WorkflowNode
from .policy_source import PolicyStore
from .replay import StepReplay, step_key
from .run_types import RunOutcome, RunRequest

__all__ = ["AIStepExecutor", "current_execution_id", "default_engine", "execution_context"]

# Prompts render off the event loop: a template that spends its whole render budget takes
# up to RenderLimits.max_seconds of CPU, and the loop must keep serving other steps. Plain
# substitution (``renders_quickly``) is bounded by the output limit and renders in place.
_RENDER_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="auterity-render")
_EXECUTION_ID: ContextVar[str | None] = ContextVar("auterity_ai_execution_id", default=None)
_INPUT_ID_KEYS = ("execution_id", "workflow_execution_id")


@contextlib.contextmanager
def execution_context(execution_id: str) -> Iterator[str]:
    """Record every AI step run inside this block against ``execution_id``.

    The engine does not pass an execution id to executors; a host wraps a workflow run in
    ``with execution_context(run.id):`` instead. Context variables follow asyncio tasks.
    """
    token = _EXECUTION_ID.set(str(execution_id))
    try:
        yield str(execution_id)
    finally:
        _EXECUTION_ID.reset(token)


def current_execution_id() -> str | None:
    """The execution id set by the innermost ``execution_context``, if any."""
    return _EXECUTION_ID.get()


def _id_text(key: str, value: str | int) -> str:
    """``str(value)``; an integer too long for ``str`` is bad input, not a crash."""
    try:
        return str(value)
    except ValueError:
        raise ValueError(f"input_data[{key!r}] is an integer too long to use as an id") from None


def resolve_execution_id(explicit: str | None, input_data: Mapping[str, Any]) -> tuple[str, str]:
    """The id to record against and where it came from: argument, context, input, new."""
    if explicit:
        return str(explicit), "argument"
    from_context = _EXECUTION_ID.get()
    if from_context:
        return from_context, "context"
    for key in _INPUT_ID_KEYS:
        value = input_data.get(key)
        if isinstance(value, str | int) and _id_text(key, value):
            return _id_text(key, value), "input"
    return str(uuid.uuid4()), "generated"


def default_engine(
    policy_store: PolicyStore | None = None,
    ledger: Ledger | None = None,
    breaker: CircuitBreaker | None = None,
) -> Engine:
    """An engine on the embedded defaults: the ledger from the environment, and the policy
    file with the ledger's ``model_configurations`` as live overrides."""
    ledger = ledger or Ledger()
    store = policy_store or PolicyStore(overrides=ledger.model_configurations)
    return Engine(store, ledger, breaker=breaker)


class AIStepExecutor(StepExecutor):
    """Executes ``type == "ai"`` nodes across providers with fallback, limits and a ledger.

    Everything is optional: by default the policy comes from ``AUTERITY_AI_POLICY`` (else
    the bundled one) and the ledger from ``AUTERITY_AI_DATABASE_URL`` (else a SQLite file
    in the user's data directory). One executor is safe to share by concurrent steps.

    Construction does not need the database: while it is unreachable the policy is the
    file's alone, and the ledger's ``model_configurations`` are applied once they can be
    read. Meanwhile a step that reserves no budget (no cost limit applies and its model has
    no price) runs and its usage waits in the ledger's outbox; a step that must reserve
    fails with ``store_error``, since its spending cannot be guaranteed.
    """

    def __init__(
        self,
        *,
        policy_store: PolicyStore | None = None,
        ledger: Ledger | None = None,
        breaker: CircuitBreaker | None = None,
        engine: Engine | None = None,
    ) -> None:
        if engine is None:
            engine = default_engine(policy_store, ledger, breaker)
        self.engine = engine

    def on_budget_alert(self, callback: Callable[[BudgetAlert], None]) -> Callable[[], None]:
        """Call ``callback`` once a day when spend crosses the policy's ``alert_threshold``."""
        return self.engine.guard.on_alert(callback)

    def on_model_quarantined(self, callback: Callable[[Quarantine], None]) -> Callable[[], None]:
        """Call ``callback`` when a model is taken out of routing at once (for instance for
        reporting usage it cannot have used); returns a function that unsubscribes."""
        return self.engine.breaker.on_quarantine(callback)

    @property
    def policy_store(self) -> PolicyStore:
        """The policy this executor routes by (share it with the API router)."""
        return self.engine.policy_store

    @property
    def ledger(self) -> Ledger:
        """The usage ledger this executor records to (share it with the API router)."""
        return self.engine.ledger

    async def execute_step(
        self,
        node: WorkflowNode,
        input_data: dict[str, Any],
        execution_id: str | None = None,
    ) -> StepExecutionResult:
        """Run one AI node; never raises.

        On failure ``error_message`` says what happened in words, and
        ``output_data["ai_error_type"]`` says it in one word a host can branch on:

        - ``limit_exceeded``: no provider was called, and a cost limit or the daily
          budget refused at least one candidate (any others were skipped);
        - ``all_failed``: every candidate was skipped (circuit open, step time budget used
          up, context window too small) and no provider was called;
        - the kind of the last provider error, when a provider was called: ``rate_limited``,
          ``timeout``, ``unavailable``, ``authentication``, ``model_not_found``,
          ``context_window``, ``content_refused`` (also when the refusal stopped the step
          because ``retry.fallback_on_content_refusal`` is off), ``bad_request``,
          ``malformed_response``, ``invalid_output``;
        - before any candidate was tried: ``invalid_input`` (``input_data`` is not a
          mapping), ``invalid_config`` (``node.data`` breaks the step schema),
          ``template_error`` (the prompt could not be rendered), ``policy_error``,
          ``store_error`` (the usage ledger failed), ``internal_error`` (anything else);
        - ``in_progress``: another worker is still running this very step (same execution,
          node, config and input) after the step time budget; nothing was called.

        ``ai_error_type`` is absent when the step succeeds. A step that already succeeded
        for the same execution id (given, not generated), node, config and input returns
        its recorded answer with ``ai_replayed: true`` and calls no model (see
        :mod:`auterity_ai_step.core.replay`; ``idempotent: false`` turns this off).
        """
        started = time.perf_counter()
        if input_data is not None and not isinstance(input_data, Mapping):
            message = (
                f"AI step failed: input_data must be a mapping, got {type(input_data).__name__}"
            )
            return _result(False, {"ai_error_type": "invalid_input"}, message, started)
        data = dict(input_data or {})
        try:
            exec_id, source = resolve_execution_id(execution_id, data)
        except ValueError as exc:
            return _result(
                False, {"ai_error_type": "invalid_input"}, f"AI step failed: {exc}", started
            )
        return await self._run_step(node, data, exec_id, source, started)

    async def _run_step(
        self, node: WorkflowNode, data: dict[str, Any], exec_id: str, source: str, started: float
    ) -> StepExecutionResult:
        """Check, claim the replay, run: every failure becomes the result, none is raised."""
        ids = {"ai_execution_id": exec_id, "ai_execution_id_source": source}
        replay: StepReplay | None = None
        try:
            request, policy = await self._prepare(node, data, exec_id)
            replay = self._replay(node, data, exec_id, source, request, policy)
            if replay is not None:
                begun = await replay.begin()
                if begun.output is not None:
                    replayed = {**begun.output, "processed_data": data, **ids}
                    return _result(True, {**replayed, "ai_replayed": True}, None, started)
                if begun.busy is not None:
                    busy = {**ids, "ai_error_type": "in_progress"}
                    return _result(False, busy, f"AI step not run: {begun.busy}", started)
            outcome = await self.engine.run(request)
        except AuterityAIError as exc:
            await _abandon(replay)
            failed = {**ids, "ai_error_type": _error_type(exc)}
            return _result(False, failed, f"AI step failed: {exc}", started)
        except Exception as exc:  # the host contract: executors never raise
            await _abandon(replay)
            detail = redact(f"{type(exc).__name__}: {exc}")
            failed = {**ids, "ai_error_type": "internal_error"}
            return _result(False, failed, f"AI step execution failed: {detail}", started)
        output = {**_attempt_keys(outcome), **ids}
        if not outcome.success:
            await _abandon(replay)
            output["ai_error_type"] = outcome.error_type or "all_failed"
            return _result(False, output, f"AI processing failed: {outcome.error}", started)
        output = {**_answer_keys(outcome, data), **output}
        if outcome.parsed is not None:
            output["ai_json"] = outcome.parsed
        if replay is not None:
            await replay.finish(output)
        return _result(True, output, None, started)

    async def _prepare(
        self, node: WorkflowNode, data: dict[str, Any], exec_id: str
    ) -> tuple[RunRequest, Policy]:
        """Validate the config and render the messages (off the event loop): every check
        before any claim. Also gives the policy they were checked against."""
        policy = await self.engine.current_policy()
        config = validate_step_config(node.data or {}, policy)
        if renders_quickly(config):  # plain substitution: bounded, cheaper than a thread hop
            messages = build_messages(config, data)
        else:
            loop = asyncio.get_running_loop()
            messages = await loop.run_in_executor(_RENDER_THREADS, build_messages, config, data)
        request = RunRequest(
            config=config,
            messages=messages,
            execution_id=exec_id,
            node_id=str(node.id),
            policy=policy,
        )
        return request, policy

    def _replay(
        self,
        node: WorkflowNode,
        data: dict[str, Any],
        exec_id: str,
        source: str,
        request: RunRequest,
        policy: Policy,
    ) -> StepReplay | None:
        """The step's replay claim, when it can have one (a known execution id, a config
        and input with a stable form, and ``idempotent`` left on)."""
        if source == "generated" or not request.config.idempotent:
            return None
        key = step_key(exec_id, str(node.id), node.data or {}, data)
        if key is None:
            return None
        return StepReplay(
            self.engine.ledger,
            key,
            execution_id=exec_id,
            node_id=str(node.id),
            policy=policy,
        )


async def _abandon(replay: StepReplay | None) -> None:
    if replay is not None:
        await replay.abandon()


_ERROR_TYPES: tuple[tuple[type[AuterityAIError], str], ...] = (
    (StepConfigError, "invalid_config"),
    (TemplateError, "template_error"),
    (PolicyError, "policy_error"),
    (StoreError, "store_error"),
    (LimitExceeded, "limit_exceeded"),
)


def _error_type(exc: AuterityAIError) -> str:
    """``ai_error_type`` for an error raised before (or around) the attempt loop.

    Provider errors never get here: the engine turns them into the run's outcome.
    """
    return next((kind for cls, kind in _ERROR_TYPES if isinstance(exc, cls)), "internal_error")


def _answer_keys(outcome: RunOutcome, data: dict[str, Any]) -> dict[str, Any]:
    """The answer's keys of ``output_data``, first in the order hosts see them."""
    assert outcome.model is not None
    usage = {
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
    }
    return {
        "ai_response": outcome.content,
        "ai_model": outcome.model.name,
        "ai_usage": usage,
        "processed_data": data,
        "ai_provider": outcome.model.provider,
        "ai_finish_reason": outcome.finish_reason,
    }


def _attempt_keys(outcome: RunOutcome) -> dict[str, Any]:
    return {
        "ai_cost": money_text(outcome.cost),
        "ai_attempts": [a.to_output() for a in outcome.attempts],
        "ai_skipped": [{"model": s.model, "reason": s.reason} for s in outcome.skipped],
    }


def _result(
    success: bool, output: dict[str, Any], error: str | None, started: float
) -> StepExecutionResult:
    duration = round((time.perf_counter() - started) * 1000)
    return StepExecutionResult(
        success=success, output_data=output, error_message=error, duration_ms=duration
    )
