import type { BudgetStatus } from "../api/types";
import { formatMoney } from "../lib/format";
import { budgetShares } from "../lib/usage";

const STATE: Record<BudgetStatus["state"], [string, string]> = {
  ok: ["Within budget", "bg-green-600"],
  alert: ["Alert threshold reached", "bg-amber-500"],
  exhausted: ["Budget exhausted", "bg-red-600"],
  no_budget: ["No daily budget", "bg-slate-400"],
};

/** Today's spend against the daily budget with the alert threshold marked, and the
 * month's pace projection. */
export function BudgetGauge({ budget }: { budget: BudgetStatus }) {
  const shares = budgetShares(budget);
  const [word, tone] = STATE[budget.state];
  return (
    <div className="space-y-2">
      <p className="text-sm text-slate-800">
        <span className="font-semibold">{word}.</span> Spent {formatMoney(budget.spent_today)} today
        {budget.daily_budget !== null && ` of ${formatMoney(budget.daily_budget)}`}
        {Number(budget.reserved_today) > 0 && `, ${formatMoney(budget.reserved_today)} reserved by calls in flight`}
        {budget.left_today !== null && `; ${formatMoney(budget.left_today)} left`} ({budget.today}, {budget.timezone}).
      </p>
      {shares && (
        <div
          role="meter"
          aria-label="Today's spend against the daily budget"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(shares.spent)}
          aria-valuetext={`${Math.round(shares.spent)}% of the daily budget; alert at ${shares.alert}%`}
          className="relative h-4 w-full overflow-hidden rounded bg-slate-200"
        >
          <div className={`absolute inset-y-0 left-0 ${tone}`} style={{ width: `${shares.spent}%` }} />
          <div className="absolute inset-y-0 bg-slate-400" style={{ left: `${shares.spent}%`, width: `${shares.reserved}%` }} />
          <div className="absolute inset-y-0 w-0.5 bg-slate-900" style={{ left: `${shares.alert}%` }} title={`alert at ${shares.alert}%`} />
        </div>
      )}
      {budget.alert_at !== null && (
        <p className="text-xs text-slate-600">Alert threshold: {budget.alert_threshold_percent}% ({formatMoney(budget.alert_at)}), marked by the black line.</p>
      )}
      <p className="text-sm text-slate-800">
        This month: {formatMoney(budget.month_spent)} in {budget.month_days_elapsed} of {budget.month_days} days; at this pace{" "}
        <span className="font-semibold">{formatMoney(budget.month_projection)}</span> by month end
        {budget.month_budget !== null && ` (budget ${formatMoney(budget.month_budget)})`}.
      </p>
    </div>
  );
}
