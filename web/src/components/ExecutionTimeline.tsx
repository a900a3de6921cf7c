import { ArrowUturnDownIcon, CheckCircleIcon, XCircleIcon } from "@heroicons/react/20/solid";
import { useExecution } from "../api/hooks";
import type { BudgetStatus, ExecutionUsage } from "../api/types";
import { formatLatency, formatMoney } from "../lib/format";
import { waterfall } from "../lib/usage";

export interface ExecutionTimelineProps {
  /** The workflow execution to show. */
  executionId: string;
  /** Today's budget, to show when it refused or alerts (optional). */
  budget?: BudgetStatus;
  className?: string;
}

/** One workflow execution's attempts from the ledger as a waterfall: model, status and
 * error type, latency, tokens and cost, and where the chain fell back and why. */
export function ExecutionTimeline({ executionId, budget, className = "" }: ExecutionTimelineProps) {
  const execution = useExecution(executionId);
  if (execution.isError)
    return <p role="alert" className="text-sm text-red-700">Could not load {executionId}: {execution.error.message}</p>;
  if (execution.isPending) return <p className="text-sm text-slate-600">Loading {executionId}…</p>;
  return <Waterfall usage={execution.data} budget={budget} className={className} />;
}

/** The waterfall of an execution already loaded. */
export function Waterfall({ usage, budget, className = "" }: { usage: ExecutionUsage; budget?: BudgetStatus; className?: string }) {
  if (usage.attempts === 0)
    return <p className={`text-sm text-slate-600 ${className}`}>No attempts are recorded for execution {usage.execution_id}.</p>;
  const { bars, spanMs } = waterfall(usage);
  return (
    <section aria-label={`Execution ${usage.execution_id}`} className={`space-y-3 ${className}`}>
      <p className="text-sm text-slate-800">
        {usage.attempts} attempt{usage.attempts === 1 ? "" : "s"} · {usage.total_tokens} tokens · {formatMoney(usage.total_cost)} · {formatLatency(spanMs)} from first call to last answer
      </p>
      {budget && budget.state !== "ok" && budget.state !== "no_budget" && (
        <p role="status" className="rounded-md bg-amber-50 p-2 text-sm text-amber-900">
          Budget {budget.state === "exhausted" ? "exhausted" : "alert"} today: {formatMoney(budget.spent_today)} spent of {formatMoney(budget.daily_budget)}. Calls that did not fit were refused before they were made and are not in the ledger.
        </p>
      )}
      <ol aria-label="Attempts" className="space-y-2">
        {bars.map(({ row, offsetMs, fellBackBecause }) => {
          const ok = row.status === "success";
          return (
            <li key={row.id} className="rounded-md border border-slate-200 bg-white p-2">
              <div className="flex flex-wrap items-center gap-x-3 text-sm">
                <span className="font-mono text-xs text-slate-600">#{row.attempt}</span>
                <span className="font-medium text-slate-900">{row.model_name}</span>
                <span className="text-xs text-slate-600">{row.provider} · node {row.node_id ?? "—"}</span>
                {ok ? (
                  <span className="inline-flex items-center gap-1 text-green-800"><CheckCircleIcon className="h-4 w-4" aria-hidden="true" />success</span>
                ) : (
                  <span className="inline-flex items-center gap-1 text-red-800"><XCircleIcon className="h-4 w-4" aria-hidden="true" />{row.status}: {row.error_type ?? "error"}</span>
                )}
                {row.is_fallback && <span className="rounded bg-indigo-50 px-1.5 text-xs text-indigo-800">fallback</span>}
                <span className="ml-auto text-xs text-slate-700">
                  {formatLatency(row.latency_ms)} · {row.prompt_tokens}+{row.completion_tokens} tokens · {formatMoney(row.cost)}
                </span>
              </div>
              <div aria-hidden="true" className="relative mt-1 h-2 rounded bg-slate-100">
                <div
                  className={`absolute inset-y-0 rounded ${ok ? "bg-green-600" : "bg-red-600"}`}
                  style={{ left: `${(offsetMs / spanMs) * 100}%`, width: `${Math.max(0.5, (row.latency_ms / spanMs) * 100)}%` }}
                />
              </div>
              {fellBackBecause && (
                <p className="mt-1 flex items-center gap-1 text-xs text-slate-700">
                  <ArrowUturnDownIcon className="h-3.5 w-3.5" aria-hidden="true" />
                  {fellBackBecause}
                </p>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
