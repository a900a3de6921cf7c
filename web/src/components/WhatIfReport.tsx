import type { WhatIfGroup, WhatIfResult } from "../api/types";
import { formatTime } from "../lib/format";
import { signedMoney } from "../lib/whatif";
import { WhatIfDifferenceChart } from "./WhatIfDifferenceChart";

export interface WhatIfReportProps {
  /** The answer of `POST /whatif` (`auterity-ai-step whatif --json`). */
  result: WhatIfResult;
}

function GroupTable({ title, first, groups }: { title: string; first: string; groups: WhatIfGroup[] }) {
  return (
    <table className="w-full text-left text-sm">
      <caption className="mb-1 text-left font-medium text-slate-900">{title}</caption>
      <thead className="text-slate-600">
        <tr>
          {[first, "Steps then", "Cost then", "Steps now", "Cost now", "Difference"].map((h) => (
            <th key={h} scope="col" className="py-1 pr-3 font-medium">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {groups.map((g) => (
          <tr key={g.name} className="border-t border-slate-100">
            <th scope="row" className="py-1 pr-3 font-normal">{g.name}</th>
            <td className="pr-3">{g.steps_then}</td>
            <td className="pr-3">${g.cost_then}</td>
            <td className="pr-3">{g.steps_now}</td>
            <td className="pr-3">${g.cost_now}</td>
            <td className="pr-3">{signedMoney(g.difference)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What the recorded steps would have cost under a candidate policy: totals then and now,
 * by model, task type and workflow node, the difference by model per day, the steps a
 * limit or the budget would refuse, the context windows too small, and what a replay
 * cannot know. Exact amounts, as the API sends them. */
export function WhatIfReport({ result }: WhatIfReportProps) {
  const { total } = result;
  const limits = Object.entries(result.refused_by_limit);
  return (
    <div className="space-y-6">
      <section aria-label="Totals" className="rounded-lg border border-slate-200 bg-white p-4">
        <dl className="grid gap-4 sm:grid-cols-4">
          <div>
            <dt className="text-sm text-slate-600">Steps replayed</dt>
            <dd className="text-lg font-semibold">{result.steps}</dd>
          </div>
          <div>
            <dt className="text-sm text-slate-600">Total then</dt>
            <dd className="text-lg font-semibold">${total.cost_then}</dd>
          </div>
          <div>
            <dt className="text-sm text-slate-600">Total now</dt>
            <dd className="text-lg font-semibold">${total.cost_now}</dd>
          </div>
          <div>
            <dt className="text-sm text-slate-600">Difference</dt>
            <dd className="text-lg font-semibold">{signedMoney(total.difference)}</dd>
          </div>
        </dl>
        <p className="mt-3 text-sm text-slate-700">
          Now with the token estimate: ${result.cost_now_estimate} (an estimate: {result.estimated_steps} step(s)
          rescaled by tokenizer ratios, {result.unestimated_steps} without a known tokenizer).
        </p>
        {result.old_steps > 0 && (
          <p className="mt-1 text-sm text-slate-700">
            {result.old_steps} step(s) were recorded before the ledger kept their routing: replayed with the model they went to.
          </p>
        )}
        {result.unanswered_then > 0 && (
          <p className="mt-1 text-sm text-slate-700">{result.unanswered_then} step(s) had no answer then: not priced now.</p>
        )}
      </section>
      <section aria-label="Difference by model per day" className="rounded-lg border border-slate-200 bg-white p-4">
        <h2 className="mb-2 font-medium text-slate-900">Difference by model per day</h2>
        <WhatIfDifferenceChart result={result} />
      </section>
      <section aria-label="Totals by group" className="space-y-4 rounded-lg border border-slate-200 bg-white p-4">
        <GroupTable title="By model" first="Model" groups={result.by_model} />
        <GroupTable title="By task type" first="Task type" groups={result.by_task_type} />
        <GroupTable title="By workflow node" first="Node" groups={result.by_node} />
      </section>
      <section aria-label="Refused and misrouted steps" className="rounded-lg border border-slate-200 bg-white p-4 text-sm">
        <h2 className="mb-2 font-medium text-slate-900">Refused now: {result.refused_steps} step(s)</h2>
        {limits.length > 0 && <p>{limits.map(([limit, count]) => `${limit}: ${count}`).join(", ")}</p>}
        <ul className="list-disc pl-5">
          {result.budget_days
            .filter((d) => d.refused_steps > 0 || d.alert_at)
            .map((d) => (
              <li key={d.day}>
                {d.day}: daily budget ${d.budget}
                {d.alert_at && `, alert at ${formatTime(d.alert_at)}`}
                {d.ran_out_at && `, runs out at ${formatTime(d.ran_out_at)} (${d.refused_steps} step(s) refused)`}
              </li>
            ))}
        </ul>
        <h2 className="mb-2 mt-4 font-medium text-slate-900">Context window too small: {result.context_miss_steps} step(s)</h2>
        <ul className="list-disc pl-5">
          {result.context_misses.map((m, i) => (
            <li key={i}>
              node {m.node_id ?? "(none)"}: {m.model} holds {m.context_window} tokens, needs {m.needed}; routed to{" "}
              {m.routed_to ?? "no model"}
            </li>
          ))}
        </ul>
      </section>
      <section aria-label="What a replay cannot know" className="rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm">
        <h2 className="mb-2 font-medium text-slate-900">What a replay cannot know</h2>
        <ul className="list-disc pl-5">
          {result.caveats.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
      </section>
    </div>
  );
}
