import { Bar, BarChart, CartesianGrid, Legend, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { WhatIfResult } from "../api/types";
import { differenceByModelPerDay, signedMoney } from "../lib/whatif";
import { PALETTE } from "./CostByDayChart";

export interface WhatIfDifferenceChartProps {
  result: WhatIfResult;
  /** Chart height in pixels. */
  height?: number;
}

/** The replay's difference (now minus then) per day, one bar per model: below zero is a
 * saving. The same figures follow as a table for screen readers. */
export function WhatIfDifferenceChart({ result, height = 260 }: WhatIfDifferenceChartProps) {
  const { rows, models } = differenceByModelPerDay(result);
  if (rows.length === 0) return <p className="text-sm text-slate-600">No recorded steps in this window.</p>;
  return (
    <figure>
      <div aria-hidden="true" style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart accessibilityLayer={false} data={rows} stackOffset="sign" margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="day" tickFormatter={(d: string) => d.slice(5)} fontSize={12} />
            <YAxis tickFormatter={(v: number) => signedMoney(String(v))} fontSize={12} width={80} />
            <Tooltip formatter={(v) => signedMoney(String(v))} />
            <Legend />
            <ReferenceLine y={0} stroke="#64748b" />
            {models.map((model, i) => (
              <Bar key={model} dataKey={model} stackId="difference" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <table className="sr-only">
        <caption>Difference by model per day (now minus then)</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {models.map((m) => (
              <th key={m} scope="col">{m}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.day}>
              <th scope="row">{row.day}</th>
              {models.map((m) => (
                <td key={m}>{signedMoney(String(row[m]))}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
