import { useState } from "react";
import { useBudget, usePerformance } from "../../api/hooks";
import { ExecutionTimeline } from "../../components/ExecutionTimeline";

/** Executions: search by execution id, then its timeline; recent costly ones to pick. */
export function ExecutionsPage({ executionId }: { executionId: string | null }) {
  const [text, setText] = useState(executionId ?? "");
  const budget = useBudget();
  const recent = usePerformance(7);
  return (
    <div className="space-y-4">
      <form
        role="search"
        className="flex items-end gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          if (text.trim()) window.location.hash = `#/executions/${encodeURIComponent(text.trim())}`;
        }}
      >
        <label className="block text-sm font-medium text-slate-800">
          Execution id
          <input value={text} onChange={(e) => setText(e.target.value)} className="mt-1 block w-96 rounded-md border border-slate-300 px-3 py-2 font-mono text-sm" />
        </label>
        <button type="submit" className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700">Show timeline</button>
      </form>
      {!executionId && recent.data && recent.data.top_executions.length > 0 && (
        <div className="text-sm text-slate-800">
          Costliest this week:{" "}
          {recent.data.top_executions.map((t) => (
            <a key={t.key} href={`#/executions/${encodeURIComponent(t.key)}`} className="mr-3 font-mono text-indigo-700 underline">{t.key}</a>
          ))}
        </div>
      )}
      {executionId && <ExecutionTimeline executionId={executionId} budget={budget.data} />}
    </div>
  );
}
