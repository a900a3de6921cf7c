import type { ModelPerformance } from "../api/types";
import { formatLatency } from "../lib/format";

/** p50 and p95 latency, error rate and fallbacks per model. */
export function PerformanceTable({ models }: { models: ModelPerformance[] }) {
  if (models.length === 0) return <p className="text-sm text-slate-600">No attempts in this range.</p>;
  return (
    <table className="w-full text-left text-sm">
      <caption className="sr-only">Latency, errors and fallbacks per model</caption>
      <thead className="text-xs text-slate-600">
        <tr>
          <th scope="col">Model</th>
          <th scope="col">Calls</th>
          <th scope="col">p50</th>
          <th scope="col">p95</th>
          <th scope="col">Error rate</th>
          <th scope="col">Fallbacks</th>
        </tr>
      </thead>
      <tbody>
        {models.map((m) => (
          <tr key={m.model} className="border-t border-slate-100">
            <th scope="row" className="py-1 font-medium text-slate-900">{m.model}</th>
            <td>{m.calls}</td>
            <td>{formatLatency(m.p50_latency_ms)}</td>
            <td>{formatLatency(m.p95_latency_ms)}</td>
            <td className={Number(m.error_rate_percent) > 0 ? "text-red-800" : undefined}>{m.error_rate_percent}%</td>
            <td>{m.fallbacks}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
