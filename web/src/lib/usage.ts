import type { BudgetStatus, ExecutionUsage, UsageRow, UsageSeries } from "../api/types";

export type DayRow = { day: string } & Record<string, number | string>;

/** Every day from `since` for `days` days (ISO dates, UTC). */
export function dayRange(since: string, days: number): string[] {
  const start = Date.parse(`${since}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

/** Series points as one row per day with a cost (US dollars) per group: the shape of a
 * stacked bar chart; days without usage are rows of zeros. */
export function costPerDay(series: UsageSeries): DayRow[] {
  const rows = new Map<string, DayRow>(
    dayRange(series.since, series.days).map((day) => [
      day,
      { day, ...Object.fromEntries(series.groups.map((g) => [g, 0])) },
    ]),
  );
  for (const point of series.points) {
    const row = rows.get(point.day);
    if (row) row[point.group] = Number(row[point.group] ?? 0) + Number(point.cost);
  }
  return [...rows.values()];
}

/** Today's spend as shares of the daily budget (0 to 100, capped), for a gauge. */
export function budgetShares(budget: BudgetStatus): { spent: number; reserved: number; alert: number } | null {
  if (budget.daily_budget === null) return null;
  const whole = Number(budget.daily_budget) || 1;
  const share = (value: string) => Math.min(100, (Number(value) / whole) * 100);
  return {
    spent: share(budget.spent_today),
    reserved: Math.min(100 - share(budget.spent_today), share(budget.reserved_today)),
    alert: Number(budget.alert_threshold_percent),
  };
}

export interface TimelineBar {
  row: UsageRow;
  /** Milliseconds from the first attempt's start to this attempt's start. */
  offsetMs: number;
  /** Why the step made another attempt, a retry or a fallback (null for a success). */
  fellBackBecause: string | null;
}

/** An execution's attempts as a waterfall: each starts `latency_ms` before it was recorded. */
export function waterfall(usage: ExecutionUsage): { bars: TimelineBar[]; spanMs: number } {
  const starts = usage.rows.map((row) => Date.parse(row.created_at) - row.latency_ms);
  const origin = Math.min(...starts);
  const bars = usage.rows.map((row, index) => {
    const next = usage.rows[index + 1];
    const movedOn = row.status !== "success" && next !== undefined && next.node_id === row.node_id;
    return {
      row,
      offsetMs: (starts[index] ?? origin) - origin,
      fellBackBecause: !movedOn
        ? null
        : next.model_name === row.model_name
          ? `${row.error_type ?? "error"} on ${row.model_name}; retried it`
          : `${row.error_type ?? "error"} on ${row.model_name}; fell back to ${next.model_name}`,
    };
  });
  const spanMs = Math.max(1, ...bars.map((b) => b.offsetMs + b.row.latency_ms));
  return { bars, spanMs };
}
