import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { UsageSeries } from "../api/types";
import { formatMoney } from "../lib/format";
import { costPerDay } from "../lib/usage";

export const PALETTE = ["#4f46e5", "#0891b2", "#ca8a04", "#db2777", "#16a34a", "#9333ea", "#ea580c", "#475569"];

export interface CostByDayChartProps {
  series: UsageSeries;
  /** Chart height in pixels. */
  height?: number;
}

/** Cost per day stacked by model or provider, with the same figures as a table for
 * screen readers. */
export function CostByDayChart({ series, height = 260 }: CostByDayChartProps) {
  const rows = costPerDay(series);
  const title = `Cost per day by ${series.group_by}`;
  if (series.points.length === 0)
    return <p className="text-sm text-slate-600">No usage in the last {series.days} days.</p>;
  return (
    <figure>
      <div aria-hidden="true" style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart accessibilityLayer={false} data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="day" tickFormatter={(d: string) => d.slice(5)} fontSize={12} />
            <YAxis tickFormatter={(v: number) => formatMoney(String(v))} fontSize={12} width={70} />
            <Tooltip formatter={(v) => formatMoney(String(v))} />
            <Legend />
            {series.groups.map((group, i) => (
              <Bar key={group} dataKey={group} stackId="cost" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="sr-only">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {series.groups.map((g) => (
              <th key={g} scope="col">{g}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.filter((row) => series.groups.some((g) => Number(row[g]) > 0)).map((row) => (
            <tr key={row.day}>
              <th scope="row">{row.day}</th>
              {series.groups.map((g) => (
                <td key={g}>{formatMoney(String(row[g]))}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
