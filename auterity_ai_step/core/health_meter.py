"""Health checks metered like steps: reserve the worst case, settle with a usage row.

A health check of a hosted model is a real one-token completion, so it is billed. Each is
held against the policy's ``per_request_limit`` and ``daily_budget`` before the request
(a check that does not fit is refused, no request made) and recorded in ``model_usage``
with ``node_id`` ``health_check``. The probe's answer is not kept, so a check that may
have been billed (it answered, or timed out or was cancelled after the request left) is
charged its worst case: the counted prompt tokens plus one output token. One that failed
before a provider could bill it (refused key, 5xx, unknown model) is recorded at $0.
Ollama-style checks (a free GET of the tags list) are neither reserved nor recorded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ..errors import MalformedResponse, ProviderError, ProviderTimeout
from ..money.limits import BudgetGuard, Reservation
from ..money.prices import price_for, worst_case_cost
from ..store.records import UsageRecord

if TYPE_CHECKING:
    from ..contract.policy import ModelSpec
    from ..store.ledger import Ledger
    from .policy_source import PolicyStore

__all__ = ["HEALTH_CHECK_NODE", "LedgerProbeMeter"]

#: The ``node_id`` of a health check's usage row.
HEALTH_CHECK_NODE = "health_check"
_ZERO = Decimal(0)


@dataclass(frozen=True)
class _Ticket:
    reservation: Reservation
    worst_case: Decimal
    prompt_tokens: int
    policy_version: str


def _may_have_billed(failure: BaseException | None) -> bool:
    """Whether the provider may have billed the probe: it answered, or the request may have
    left before the wait ended."""
    return failure is None or isinstance(
        failure, TimeoutError | asyncio.CancelledError | ProviderTimeout | MalformedResponse
    )


class LedgerProbeMeter:
    """A :class:`~auterity_ai_step.routing.health.ProbeMeter` over the ledger and budget."""

    def __init__(self, ledger: Ledger, policy_store: PolicyStore) -> None:
        self.store = policy_store
        self.guard = BudgetGuard(ledger, policy_store)

    async def begin(self, spec: ModelSpec) -> _Ticket | None:
        return await asyncio.to_thread(self._begin, spec)

    async def end(
        self,
        ticket: _Ticket | None,
        spec: ModelSpec,
        latency_ms: float,
        failure: BaseException | None,
    ) -> None:
        if ticket is not None:
            await asyncio.to_thread(self._end, ticket, spec, latency_ms, failure)

    def _begin(self, spec: ModelSpec) -> _Ticket | None:
        from ..routing import gateway

        if not gateway.probe_is_billed(spec):
            return None
        price = price_for(spec)
        prompt = gateway.count_tokens(spec, gateway.PROBE_MESSAGES)
        worst = None if price is None else worst_case_cost(price, prompt, gateway.PROBE_MAX_TOKENS)
        reservation = self.guard.reserve_attempt(worst, model=spec.name)
        return _Ticket(reservation, worst or _ZERO, prompt, self.store.current().version)

    def _end(
        self, ticket: _Ticket, spec: ModelSpec, latency_ms: float, failure: BaseException | None
    ) -> None:
        from ..routing import gateway

        billed = _may_have_billed(failure)
        kind = (
            failure.kind
            if isinstance(failure, ProviderError)
            else "cancelled"
            if isinstance(failure, asyncio.CancelledError)
            else "timeout"
            if isinstance(failure, TimeoutError)
            else "internal_error"
        )
        record = UsageRecord(
            execution_id=None,
            node_id=HEALTH_CHECK_NODE,
            model_name=spec.name,
            provider=spec.provider,
            prompt_tokens=ticket.prompt_tokens if billed else 0,
            completion_tokens=gateway.PROBE_MAX_TOKENS if billed else 0,
            cost=ticket.worst_case if billed else _ZERO,
            latency_ms=round(latency_ms),
            status="success" if failure is None else "error",
            error_type=None if failure is None else kind,
            attempt=1,
            is_fallback=False,
            price_version=ticket.policy_version,
        )
        if billed:
            self.guard.settle(ticket.reservation, record)
        else:
            self.guard.release(ticket.reservation, record)
