"""The console's step bodies: a step's validation (the CLI ``validate`` words), its
worst-case estimate, and a try-it run on the built-in simulator (no FastAPI here)."""

from __future__ import annotations

from typing import Any

from .. import telemetry
from ..contract.step import validate_step_config
from ..core.estimate import CandidateEstimate, estimate_step
from ..errors import StepConfigError, TemplateError
from .catalog import ApiError, ModelCatalog
from .console_models import (
    CandidateCost,
    SkippedCandidate,
    StepCheck,
    StepEstimateReport,
    StepEstimateRequest,
    TryAttempt,
    TryRun,
)
from .models import money

__all__ = ["check", "estimate", "try_run"]


def check(work: ModelCatalog, step: dict[str, Any]) -> StepCheck:
    try:
        config = validate_step_config(step, work.store.current())
    except StepConfigError as exc:
        return StepCheck(
            valid=False,
            legacy="config_version" not in step,
            errors=[work.redact(e) for e in exc.errors],
        )
    return StepCheck(valid=True, legacy=config.legacy, errors=[])


def _refusal(work: ModelCatalog, message: str, errors: list[str]) -> ApiError:
    return ApiError(422, {"message": message, "errors": [work.redact(e) for e in errors]})


def estimate(work: ModelCatalog, body: StepEstimateRequest) -> StepEstimateReport:
    policy = work.store.current()
    try:
        with work.ledger_errors():
            report = estimate_step(body.step, body.input, policy, ledger=work.ledger)
            alone = [
                estimate_step(
                    {**body.step, "model": name, "fallback_models": [], "policy_fallbacks": False},
                    body.input,
                    policy,
                    ledger=work.ledger,
                )
                for name in (policy.model_names if body.each_model else ())
            ]
    except StepConfigError as exc:
        raise _refusal(work, "the step is not valid", exc.errors) from exc
    except TemplateError as exc:
        raise _refusal(work, "the prompt cannot be rendered", [str(exc)]) from exc
    return StepEstimateReport(
        prompt_tokens=report.prompt_tokens,
        daily_left=None if report.daily_left is None else money(report.daily_left),
        candidates=[_cost(work, row) for row in report.rows],
        skipped=[
            SkippedCandidate(model=s.model, reason=work.redact(s.reason)) for s in report.skipped
        ],
        each_model=[_cost(work, one.rows[0]) for one in alone if one.rows],
    )


def _cost(work: ModelCatalog, row: CandidateEstimate) -> CandidateCost:
    return CandidateCost(
        model=row.model,
        max_tokens=row.max_tokens,
        worst_case=None if row.worst_case is None else money(row.worst_case),
        fits_cost_limit=row.fits_cost_limit,
        fits_per_request=row.fits_per_request,
        fits_daily=row.fits_daily,
        refused=None if row.refused is None else work.redact(row.refused),
    )


async def try_run(work: ModelCatalog, body: StepEstimateRequest) -> TryRun:
    """Run the step on the built-in simulator with a throwaway ledger: the real ledger,
    budget and circuits are untouched and no provider is called."""
    from ..core.executor import AIStepExecutor
    from ..core.host import WorkflowNode
    from ..core.runtime import PolicyStore, scratch_ledger
    from ..simulator.policy import simulated_policy
    from ..simulator.server import Scenario, Simulator

    with scratch_ledger() as ledger:
        async with Simulator(Scenario()) as sim:
            policy = simulated_policy(work.store.current(), sim.base_url)
            executor = AIStepExecutor(policy_store=PolicyStore.fixed(policy), ledger=ledger)
            node = WorkflowNode("try-it", "ai", dict(body.step))
            with telemetry.muted():  # a scratch ledger: kept out of the metrics
                result = await executor.execute_step(node, dict(body.input), "console-try")
    out = result.output_data
    return TryRun(
        success=result.success,
        response=out.get("ai_response"),
        model=out.get("ai_model"),
        cost=str(out.get("ai_cost", "0")),
        error=None if result.error_message is None else work.redact(result.error_message),
        error_type=out.get("ai_error_type"),
        attempts=[
            TryAttempt(
                attempt=a["attempt"],
                model=a["model"],
                outcome=a["outcome"],
                error_type=a["error_type"],
                latency_ms=a["latency_ms"],
                total_tokens=a["total_tokens"],
                cost=a["cost"],
                is_fallback=a["is_fallback"],
            )
            for a in out.get("ai_attempts", [])
        ],
    )
