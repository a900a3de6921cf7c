import { useState, type ReactNode } from "react";
import { useBudget, usePerformance, useUsageSeries } from "../api/hooks";
import type { GroupBy } from "../api/types";
import { BudgetGauge } from "./BudgetGauge";
import { CostByDayChart } from "./CostByDayChart";
import { PerformanceTable } from "./PerformanceTable";
import { TopCostsTable } from "./TopCostsTable";

export interface CostDashboardProps {
  /** Days shown at first (the user can change the range). */
  initialDays?: number;
  /** Called when the user picks an execution from the top list. */
  onSelectExecution?: (executionId: string) => void;
  className?: string;
}

const RANGES = [7, 30, 90];

function Panel({ title, children, className = "" }: { title: string; children: ReactNode; className?: string }) {
  return (
    <section aria-label={title} className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm ${className}`}>
      <h2 className="mb-2 text-sm font-semibold text-slate-900">{title}</h2>
      {children}
    </section>
  );
}

function Loading<T>({ query, children }: { query: { isPending: boolean; isError: boolean; error: Error | null; data: T | undefined }; children: (data: T) => ReactNode }) {
  if (query.isError) return <p role="alert" className="text-sm text-red-700">Could not load: {query.error?.message}</p>;
  if (query.isPending || query.data === undefined) return <p className="text-sm text-slate-600">Loading…</p>;
  return <>{children(query.data)}</>;
}

/** Spend and performance at a glance: cost per day by model or provider, today's budget
 * with its alert threshold, the month's pace, the costliest executions and nodes, and
 * latency, errors and fallbacks per model. */
export function CostDashboard({ initialDays = 30, onSelectExecution, className = "" }: CostDashboardProps) {
  const [days, setDays] = useState(initialDays);
  const [groupBy, setGroupBy] = useState<GroupBy>("model");
  const series = useUsageSeries(days, groupBy);
  const performance = usePerformance(days);
  const budget = useBudget();
  return (
    <div className={`grid gap-4 lg:grid-cols-3 ${className}`}>
      <div className="flex flex-wrap items-center gap-4 lg:col-span-3">
        <label className="text-sm text-slate-800">
          Date range{" "}
          <select className="ml-1 rounded-md border border-slate-300 px-2 py-1 text-sm" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {RANGES.map((d) => (
              <option key={d} value={d}>Last {d} days</option>
            ))}
          </select>
        </label>
        <fieldset className="flex items-center gap-3 text-sm text-slate-800">
          <legend className="sr-only">Stack cost by</legend>
          {(["model", "provider"] as const).map((g) => (
            <label key={g} className="flex items-center gap-1">
              <input type="radio" name="group-by" checked={groupBy === g} onChange={() => setGroupBy(g)} />
              By {g}
            </label>
          ))}
        </fieldset>
      </div>
      <Panel title={`Cost per day by ${groupBy}`} className="lg:col-span-2">
        <Loading query={series}>{(data) => <CostByDayChart series={data} />}</Loading>
      </Panel>
      <Panel title="Budget">
        <Loading query={budget}>{(data) => <BudgetGauge budget={data} />}</Loading>
      </Panel>
      <Panel title="Latency, errors and fallbacks per model" className="lg:col-span-2">
        <Loading query={performance}>{(data) => <PerformanceTable models={data.models} />}</Loading>
      </Panel>
      <Panel title="Costliest">
        <Loading query={performance}>
          {(data) => (
            <div className="space-y-4">
              <TopCostsTable title="Top executions" keyLabel="Execution" rows={data.top_executions} onSelect={onSelectExecution} />
              <TopCostsTable title="Top workflow nodes" keyLabel="Node" rows={data.top_nodes} />
            </div>
          )}
        </Loading>
      </Panel>
    </div>
  );
}
