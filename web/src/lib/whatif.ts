import type { WhatIfResult } from "../api/types";

export type DifferenceRow = { day: string } & Record<string, number | string>;

/** The replay's per-day, per-model figures as one row per day holding each model's
 * difference (now minus then, US dollars): the shape of the difference chart. Days come in
 * order; a model absent on a day is 0 there. */
export function differenceByModelPerDay(result: WhatIfResult): { rows: DifferenceRow[]; models: string[] } {
  const models = [...new Set(result.by_day_model.map((r) => r.model))].sort();
  const days = new Map<string, DifferenceRow>();
  for (const entry of result.by_day_model) {
    let row = days.get(entry.day);
    if (!row) {
      row = { day: entry.day, ...Object.fromEntries(models.map((m) => [m, 0])) };
      days.set(entry.day, row);
    }
    row[entry.model] = Number(row[entry.model] ?? 0) + Number(entry.difference);
  }
  return { rows: [...days.values()].sort((a, b) => a.day.localeCompare(b.day)), models };
}

/** A signed exact amount for display: "-$0.00128175", "+$0.2", "$0". */
export function signedMoney(value: string): string {
  if (Number(value) === 0) return "$0";
  return value.startsWith("-") ? `-$${value.slice(1)}` : `+$${value}`;
}
