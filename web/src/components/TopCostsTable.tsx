import type { TopCost } from "../api/types";
import { formatMoney } from "../lib/format";

export interface TopCostsTableProps {
  title: string;
  /** Header of the key column: "Execution" or "Node". */
  keyLabel: string;
  rows: TopCost[];
  /** Called when an execution is chosen (shows its timeline). */
  onSelect?: (key: string) => void;
}

/** The costliest executions or workflow nodes, dearest first. */
export function TopCostsTable({ title, keyLabel, rows, onSelect }: TopCostsTableProps) {
  return (
    <table className="w-full text-left text-sm">
      <caption className="text-left text-sm font-semibold text-slate-900">{title}</caption>
      <thead className="text-xs text-slate-600">
        <tr>
          <th scope="col">{keyLabel}</th>
          <th scope="col">Attempts</th>
          <th scope="col">Cost</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr><td colSpan={3} className="py-1 text-slate-600">None in this range.</td></tr>
        )}
        {rows.map((row) => (
          <tr key={row.key} className="border-t border-slate-100">
            <th scope="row" className="max-w-[16rem] truncate py-1 font-mono text-xs font-normal">
              {onSelect ? (
                <button type="button" className="text-indigo-700 underline" onClick={() => onSelect(row.key)}>{row.key}</button>
              ) : row.key}
            </th>
            <td>{row.attempts}</td>
            <td>{formatMoney(row.cost)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
