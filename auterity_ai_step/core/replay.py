"""Idempotent re-runs: a step that already succeeded answers again from the ledger.

A host retries a step, resumes an execution or restarts a worker, and the same AI step
runs again with the same execution id, node, config and input. Paying a model again for
an answer the workflow already has would be waste, and two workers racing on the same
step would pay twice. So before any model is called the step claims its key in the
ledger (``step_results``):

- an answer recorded for the key is returned as it was, marked ``ai_replayed: true``, and
  the replay is written to the ledger as a usage row with status ``replayed`` and no cost;
- a claim another worker holds is waited for (up to the policy's step time budget): its
  answer is replayed when it succeeds, and the step runs here when it fails;
- otherwise this worker runs the step, and keeps its answer once it succeeded (a failed
  step gives its claim up, so a retry runs it again).

Only steps with a known execution id take part (one the host gave: an argument, the
context or the input); a generated id is new every time, so there is nothing to replay.
A step opts out with ``idempotent: false``. The ledger keeps the answer's text for this:
see docs/concepts/how-a-step-runs.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ..contract.policy import Policy
from ..errors import StoreError, redact
from ..store.ledger import Ledger
from ..store.records import UsageRecord
from .offload import offload

__all__ = ["StepReplay", "step_key"]

log = logging.getLogger("auterity_ai_step.replay")
_KEY_VERSION = 1
_FIRST_POLL_S = 0.05
_LONGEST_POLL_S = 1.0
# Output keys that describe this run rather than the recorded answer.
_PER_RUN_KEYS = ("processed_data", "ai_execution_id", "ai_execution_id_source", "ai_replayed")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(map(str, value)) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def step_key(
    execution_id: str, node_id: str, node_data: Mapping[str, Any], input_data: Mapping[str, Any]
) -> str | None:
    """The step's identity for replays (a SHA-256 hex digest), or None when the config or
    input holds a value with no stable JSON form (such a step is never replayed)."""
    identity = {
        "v": _KEY_VERSION,
        "execution_id": execution_id,
        "node_id": node_id,
        "config": node_data,
        "input": input_data,
    }
    try:
        blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=_plain)
    except (TypeError, ValueError, RecursionError):
        return None
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Begun:
    """What :meth:`StepReplay.begin` found: run the step (``run``), or ``output`` to replay,
    or ``busy``: another worker still holds the claim after the wait."""

    run: bool
    output: dict[str, Any] | None = None
    busy: str | None = None


class StepReplay:
    """One step's claim on its key, from :meth:`begin` to :meth:`finish` or :meth:`abandon`."""

    def __init__(
        self,
        ledger: Ledger,
        key: str,
        *,
        execution_id: str,
        node_id: str,
        policy: Policy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.key = key
        self.execution_id = execution_id
        self.node_id = node_id
        self.policy = policy
        self.owner = str(uuid.uuid4())
        self._sleep = sleep
        self._clock = clock
        self._claimed = False

    async def begin(self) -> Begun:
        """Claim the key, or find its answer; waits while another worker runs the step.

        A ledger that cannot keep claims (unreachable, or a schema without
        ``step_results``) does not stop the step: it runs without replay, with a warning.
        """
        budget = self.policy.retry.step_time_budget_s
        stale_after = 2 * budget + 60
        deadline = self._clock() + budget
        pause = _FIRST_POLL_S
        while True:
            try:
                found = await offload(
                    self.ledger.claim_step,
                    self.key,
                    owner=self.owner,
                    execution_id=self.execution_id,
                    node_id=self.node_id,
                    stale_after_s=stale_after,
                    quick=self.ledger.quick_writes,
                )
            except StoreError as exc:
                log.warning("step replay unavailable, running the step: %s", exc)
                return Begun(run=True)
            if found.state == "claimed":
                self._claimed = True
                return Begun(run=True)
            if found.state == "succeeded":
                return Begun(run=False, output=await self._replayed(found.output or {}))
            if self._clock() + pause > deadline:
                return Begun(
                    run=False,
                    busy=(
                        f"another worker is running this step for execution "
                        f"{self.execution_id} (node {self.node_id}) and has not finished "
                        f"within the step time budget ({budget:g} s); retry it later, or "
                        "set idempotent: false on the step to run it again regardless"
                    ),
                )
            await self._sleep(pause)
            pause = min(pause * 2, _LONGEST_POLL_S)

    async def _replayed(self, output: dict[str, Any]) -> dict[str, Any]:
        record = UsageRecord(
            execution_id=self.execution_id,
            node_id=self.node_id,
            model_name=str(output.get("ai_model") or "")[:100],
            provider=str(output.get("ai_provider") or "")[:50],
            prompt_tokens=0,
            completion_tokens=0,
            cost=Decimal(0),
            latency_ms=0,
            status="replayed",
            error_type=None,
            attempt=0,
            is_fallback=False,
            price_version=self.policy.version,
        )
        try:
            await asyncio.to_thread(self.ledger.record_replay, self.key, record)
        except StoreError as exc:
            log.warning("could not record a step replay in the ledger: %s", exc)
        return output

    async def finish(self, output: Mapping[str, Any]) -> None:
        """Keep a succeeded step's answer (less what describes only this run)."""
        if not self._claimed:
            return
        kept = {k: v for k, v in output.items() if k not in _PER_RUN_KEYS}
        try:
            stored = json.loads(json.dumps(kept, default=str))
            if not await offload(
                self.ledger.finish_step,
                self.key,
                owner=self.owner,
                output=stored,
                quick=self.ledger.quick_writes,
            ):
                log.warning(
                    "step %s of execution %s outlived its replay claim: its answer is not "
                    "kept for re-runs",
                    self.node_id,
                    self.execution_id,
                )
        except (StoreError, TypeError, ValueError) as exc:
            log.warning("could not keep a step's answer for re-runs: %s", redact(str(exc)))

    async def abandon(self) -> None:
        """Give the claim up after a failed step, so that a retry runs it again."""
        if not self._claimed:
            return
        try:
            await asyncio.to_thread(self.ledger.abandon_step, self.key, owner=self.owner)
        except StoreError as exc:
            log.warning("could not give up a failed step's replay claim: %s", exc)
