import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { WhatIfResult } from "../../api/types";
import { differenceByModelPerDay, signedMoney } from "../../lib/whatif";
import { renderWithApi } from "../../test/fakeApi";
import { WhatIfPage } from "./WhatIfPage";

const totals = (then: string, now: string, difference: string, stepsThen = 1, stepsNow = 1) => ({
  steps_then: stepsThen,
  steps_now: stepsNow,
  cost_then: then,
  cost_now: now,
  difference,
});

const RESULT: WhatIfResult = {
  policy_version: "cand1",
  since: "2026-12-05T00:00:00+00:00",
  execution_id: null,
  steps: 3,
  unanswered_then: 0,
  old_steps: 1,
  total: totals("0.003", "0.0012", "-0.0018", 3, 2),
  cost_now_estimate: "0.00121",
  estimated_steps: 2,
  unestimated_steps: 0,
  truncated_steps: 0,
  by_model: [
    { name: "gpt-4o", ...totals("0.003", "0", "-0.003", 3, 0) },
    { name: "gpt-4o-mini", ...totals("0", "0.0012", "0.0012", 0, 2) },
  ],
  by_task_type: [{ name: "customer_inquiry", ...totals("0.003", "0.0012", "-0.0018", 3, 2) }],
  by_node: [{ name: "reply", ...totals("0.003", "0.0012", "-0.0018", 3, 2) }],
  by_day_model: [
    { day: "2026-12-05", model: "gpt-4o", ...totals("0.002", "0", "-0.002") },
    { day: "2026-12-05", model: "gpt-4o-mini", ...totals("0", "0.0008", "0.0008") },
    { day: "2026-12-06", model: "gpt-4o", ...totals("0.001", "0", "-0.001") },
  ],
  refused_steps: 1,
  refused_by_limit: { daily_budget: 1 },
  refused: [
    { execution_id: "e3", node_id: "reply", at: "2026-12-06T09:00:00+00:00", limit: "daily_budget", reason: "daily_budget 0.001 ..." },
  ],
  context_miss_steps: 1,
  context_misses: [
    { execution_id: "e1", node_id: "reply", model: "local-llama", context_window: 8192, needed: 9000, routed_to: "gpt-4o-mini" },
  ],
  budget_days: [
    { day: "2026-12-06", budget: "0.001", spent: "0.0004", refused_steps: 1, ran_out_at: "2026-12-06T09:00:00+00:00", alert_at: null },
  ],
  caveats: ["Answer quality is unknown: a replay prices the same answers, it cannot judge another model's."],
};

describe("differenceByModelPerDay", () => {
  it("gives one row per day with each model's signed difference", () => {
    const { rows, models } = differenceByModelPerDay(RESULT);
    expect(models).toEqual(["gpt-4o", "gpt-4o-mini"]);
    expect(rows).toEqual([
      { day: "2026-12-05", "gpt-4o": -0.002, "gpt-4o-mini": 0.0008 },
      { day: "2026-12-06", "gpt-4o": -0.001, "gpt-4o-mini": 0 },
    ]);
  });

  it("writes signed amounts exactly", () => {
    expect(signedMoney("-0.0018")).toBe("-$0.0018");
    expect(signedMoney("0.0012")).toBe("+$0.0012");
    expect(signedMoney("0")).toBe("$0");
  });
});

describe("WhatIfPage", () => {
  it("replays the pasted candidate and shows the totals, the chart's figures and the caveats", async () => {
    const user = userEvent.setup();
    const { api } = renderWithApi(<WhatIfPage />, { "POST /whatif": RESULT });
    await user.click(screen.getByLabelText(/Candidate policy \(YAML/));
    await user.paste("routing_rules: {default_model: gpt-4o-mini}");
    const days = screen.getByLabelText(/Days back/);
    await user.clear(days);
    await user.type(days, "2");
    await user.click(screen.getByRole("button", { name: "Replay the ledger" }));
    const totalsBox = await screen.findByRole("region", { name: "Totals" });
    expect(within(totalsBox).getByText("$0.003")).toBeInTheDocument();
    expect(within(totalsBox).getByText("-$0.0018")).toBeInTheDocument();
    expect(api.calls.at(-1)).toMatchObject({
      method: "POST",
      path: "/whatif",
      body: { policy: "routing_rules: {default_model: gpt-4o-mini}", days: 2 },
    });
    const chart = screen.getByRole("table", { name: "Difference by model per day (now minus then)" });
    const day = within(chart).getByRole("row", { name: /2026-12-05/ });
    expect(within(day).getByText("-$0.002")).toBeInTheDocument();
    expect(within(day).getByText("+$0.0008")).toBeInTheDocument();
    const byNode = screen.getByRole("table", { name: "By workflow node" });
    expect(within(byNode).getByRole("row", { name: /reply/ })).toHaveTextContent("$0.0012");
    expect(screen.getByText(/runs out at 2026-12-06 09:00:00 UTC \(1 step\(s\) refused\)/)).toBeInTheDocument();
    expect(screen.getByText(/local-llama holds 8192 tokens, needs 9000; routed to gpt-4o-mini/)).toBeInTheDocument();
    expect(screen.getByText(/Answer quality is unknown/)).toBeInTheDocument();
    expect(screen.getByText(/1 step\(s\) were recorded before the ledger kept their routing/)).toBeInTheDocument();
  });

  it("sends no policy for the live one and shows an invalid candidate's errors", async () => {
    const user = userEvent.setup();
    const { api } = renderWithApi(<WhatIfPage />, {
      "POST /whatif": [422, { detail: "policy: invalid policy: cost_contrls: unknown top-level key" }],
    });
    await user.click(screen.getByRole("button", { name: "Replay the ledger" }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("cost_contrls: unknown top-level key"));
    expect(api.calls.at(-1)?.body).toEqual({ policy: null, days: 7 });
  });
});
