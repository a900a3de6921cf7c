import { CheckIcon, XMarkIcon } from "@heroicons/react/20/solid";
import type { StepEstimateReport } from "../api/types";
import { formatMoney } from "../lib/format";

export interface StepEstimateProps {
  /** The API's estimate for the current step; undefined while none is known. */
  estimate: StepEstimateReport | undefined;
  /** Whether a newer estimate is on its way. */
  pending?: boolean;
  /** Why there is no estimate (e.g. the step does not validate yet). */
  error?: string | null;
  /** The step's cost_limit, to say which candidates fit it. */
  costLimit?: number | null;
}

function Fit({ fits, what }: { fits: boolean | null; what: string }) {
  if (fits === null) return <span className="text-slate-500">no {what}</span>;
  return fits ? (
    <span className="inline-flex items-center gap-1 text-green-800"><CheckIcon className="h-4 w-4" aria-hidden="true" />fits</span>
  ) : (
    <span className="inline-flex items-center gap-1 text-red-800"><XMarkIcon className="h-4 w-4" aria-hidden="true" />over</span>
  );
}

/** Worst-case cost per candidate of the current step, against its cost_limit and the budget. */
export function StepEstimate({ estimate, pending = false, error, costLimit }: StepEstimateProps) {
  return (
    <section aria-labelledby="estimate-title" aria-busy={pending} className="rounded-md border border-slate-200 bg-white p-3">
      <h2 id="estimate-title" className="text-sm font-semibold text-slate-900">Live estimate (worst case per candidate)</h2>
      {error ? (
        <p className="mt-1 text-sm text-slate-700">No estimate: {error}</p>
      ) : !estimate ? (
        <p className="mt-1 text-sm text-slate-600">Estimating…</p>
      ) : (
        <>
          <p className="mt-1 text-xs text-slate-600">
            {estimate.prompt_tokens} prompt tokens ·{" "}
            {estimate.daily_left === null ? "no daily budget" : `${formatMoney(estimate.daily_left)} left today`}
            {costLimit !== undefined && costLimit !== null && ` · cost limit ${formatMoney(String(costLimit))}`}
          </p>
          <table className="mt-2 w-full text-left text-sm">
            <caption className="sr-only">Worst-case cost per candidate</caption>
            <thead className="text-xs text-slate-600">
              <tr>
                <th scope="col" className="py-1">Candidate</th>
                <th scope="col">Max tokens</th>
                <th scope="col">Worst case</th>
                <th scope="col">Cost limit</th>
                <th scope="col">Daily budget</th>
              </tr>
            </thead>
            <tbody>
              {estimate.candidates.map((row, index) => (
                <tr key={row.model} className="border-t border-slate-100">
                  <th scope="row" className="py-1 font-medium text-slate-900">{index + 1}. {row.model}</th>
                  <td>{row.max_tokens ?? "—"}</td>
                  <td>{formatMoney(row.worst_case)}{row.refused && <span className="block text-xs text-red-800">{row.refused}</span>}</td>
                  <td><Fit fits={row.fits_cost_limit} what="limit" /></td>
                  <td><Fit fits={row.fits_daily} what="budget" /></td>
                </tr>
              ))}
            </tbody>
          </table>
          {estimate.skipped.map((s) => (
            <p key={s.model} className="text-xs text-slate-600">{s.model} skipped: {s.reason}</p>
          ))}
        </>
      )}
    </section>
  );
}
