import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { BudgetStatus, PerformanceReport, UsageSeries } from "../api/types";
import { renderWithApi } from "../test/fakeApi";
import { CostDashboard } from "./CostDashboard";

const series = (groupBy: "model" | "provider"): UsageSeries => ({
  days: 7,
  since: "2026-11-30",
  group_by: groupBy,
  groups: groupBy === "model" ? ["gpt-4o", "gpt-4o-mini"] : ["openai"],
  points:
    groupBy === "model"
      ? [
          { day: "2026-12-05", group: "gpt-4o", calls: 2, errors: 0, total_tokens: 300, cost: "0.25" },
          { day: "2026-12-05", group: "gpt-4o-mini", calls: 1, errors: 0, total_tokens: 100, cost: "0.0125" },
        ]
      : [{ day: "2026-12-05", group: "openai", calls: 3, errors: 0, total_tokens: 400, cost: "0.2625" }],
});

const BUDGET: BudgetStatus = {
  daily_budget: "5",
  alert_threshold_percent: "80",
  alert_at: "4",
  timezone: "UTC",
  today: "2026-12-06",
  spent_today: "4.5",
  reserved_today: "0.25",
  left_today: "0.25",
  state: "alert",
  month_spent: "12",
  month_days_elapsed: 6,
  month_days: 31,
  month_projection: "62",
  month_budget: "155",
};

const PERF: PerformanceReport = {
  days: 7,
  models: [{ model: "gpt-4o", calls: 4, errors: 1, error_rate_percent: "25", fallbacks: 2, p50_latency_ms: 200, p95_latency_ms: 1400 }],
  top_executions: [{ key: "exec-9", attempts: 3, cost: "0.26" }],
  top_nodes: [{ key: "draft-reply", attempts: 3, cost: "0.26" }],
};

const ROUTES = {
  "GET /usage/series": (url: URL) =>
    new Response(JSON.stringify({ ...series(url.searchParams.get("group_by") as "model"), days: Number(url.searchParams.get("days")) })),
  "GET /usage/performance": PERF,
  "GET /budget": BUDGET,
};

describe("CostDashboard", () => {
  it("shows cost per day by model, switchable to provider", async () => {
    const user = userEvent.setup();
    renderWithApi(<CostDashboard initialDays={7} />, ROUTES);
    const table = await screen.findByRole("table", { name: "Cost per day by model" });
    expect(within(table).getByRole("row", { name: "2026-12-05 $0.2500 $0.0125" })).toBeInTheDocument();
    await user.click(screen.getByRole("radio", { name: "By provider" }));
    const byProvider = await screen.findByRole("table", { name: "Cost per day by provider" });
    expect(within(byProvider).getByRole("row", { name: "2026-12-05 $0.2625" })).toBeInTheDocument();
  });

  it("changes the date range", async () => {
    const user = userEvent.setup();
    const { api } = renderWithApi(<CostDashboard initialDays={7} />, ROUTES);
    await screen.findByRole("table", { name: "Cost per day by model" });
    await user.selectOptions(screen.getByLabelText("Date range"), "Last 90 days");
    await waitFor(() => expect(api.calls.map((c) => c.path)).toContain("/usage/series?days=90&group_by=model"));
    expect(api.calls.map((c) => c.path)).toContain("/usage/performance?days=90");
  });

  it("shows today's spend against the budget with the alert threshold, and the month's pace", async () => {
    renderWithApi(<CostDashboard />, ROUTES);
    const meter = await screen.findByRole("meter", { name: "Today's spend against the daily budget" });
    expect(meter).toHaveAttribute("aria-valuenow", "90");
    expect(meter).toHaveAttribute("aria-valuetext", "90% of the daily budget; alert at 80%");
    expect(screen.getByText(/Alert threshold reached\./)).toBeInTheDocument();
    expect(screen.getByText(/at this pace/)).toHaveTextContent("This month: $12.00 in 6 of 31 days; at this pace $62.00 by month end (budget $155.00).");
  });

  it("lists p50/p95 latency, error rate and fallbacks per model and the costliest executions", async () => {
    const user = userEvent.setup();
    const chosen = vi.fn();
    renderWithApi(<CostDashboard onSelectExecution={chosen} />, ROUTES);
    const perf = await screen.findByRole("table", { name: "Latency, errors and fallbacks per model" });
    expect(within(perf).getByRole("row", { name: "gpt-4o 4 200 ms 1.4 s 25% 2" })).toBeInTheDocument();
    expect(screen.getByRole("table", { name: "Top workflow nodes" })).toHaveTextContent("draft-reply");
    await user.click(screen.getByRole("button", { name: "exec-9" }));
    expect(chosen).toHaveBeenCalledWith("exec-9");
  });

  it("says it is loading until the figures arrive", () => {
    const never = () => new Promise<Response>(() => {});
    renderWithApi(<CostDashboard />, { "GET /usage/series": never, "GET /usage/performance": never, "GET /budget": never });
    expect(screen.getAllByText("Loading…")).toHaveLength(4);
  });

  it("says when there is no usage, and when the API fails", async () => {
    renderWithApi(<CostDashboard />, {
      "GET /usage/series": { days: 30, since: "2026-11-07", group_by: "model", groups: [], points: [] },
      "GET /usage/performance": [503, { detail: "ledger database failed" }],
      "GET /budget": { ...BUDGET, daily_budget: null, state: "no_budget", alert_at: null, left_today: null, month_budget: null },
    });
    expect(await screen.findByText("No usage in the last 30 days.")).toBeInTheDocument();
    expect((await screen.findAllByRole("alert"))[0]).toHaveTextContent("Could not load: ledger database failed");
    expect(await screen.findByText(/No daily budget\./)).toBeInTheDocument();
    expect(screen.queryByRole("meter")).not.toBeInTheDocument();
  });
});
