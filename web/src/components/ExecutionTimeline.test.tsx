import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { BudgetStatus, ExecutionUsage, UsageRow } from "../api/types";
import { renderWithApi } from "../test/fakeApi";
import { ExecutionTimeline } from "./ExecutionTimeline";

function row(attempt: number, model: string, extra: Partial<UsageRow> = {}): UsageRow {
  return {
    id: `row-${attempt}`,
    execution_id: "exec-7",
    node_id: "reply",
    model_name: model,
    provider: "openai",
    prompt_tokens: 100,
    completion_tokens: 40,
    total_tokens: 140,
    cost: "0.00012",
    latency_ms: 800,
    status: "success",
    error_type: null,
    attempt,
    is_fallback: attempt > 1,
    price_version: "v1",
    created_at: `2026-12-06T10:00:0${attempt}.000Z`,
    ...extra,
  };
}

const USAGE: ExecutionUsage = {
  execution_id: "exec-7",
  attempts: 2,
  total_tokens: 140,
  total_cost: "0.00012",
  rows: [
    row(1, "gpt-4o", { status: "error", error_type: "timeout", cost: "0", prompt_tokens: 0, completion_tokens: 0, latency_ms: 1000 }),
    row(2, "gpt-4o-mini"),
  ],
};

describe("ExecutionTimeline", () => {
  it("shows each attempt with model, status, error type, latency, tokens and cost", async () => {
    renderWithApi(<ExecutionTimeline executionId="exec-7" />, { "GET /executions/exec-7/usage": USAGE });
    const attempts = within(await screen.findByRole("list", { name: "Attempts" })).getAllByRole("listitem");
    expect(attempts[0]).toHaveTextContent("#1gpt-4o");
    expect(attempts[0]).toHaveTextContent("error: timeout");
    expect(attempts[0]).toHaveTextContent("1.0 s · 0+0 tokens · $0");
    expect(attempts[1]).toHaveTextContent("success");
    expect(attempts[1]).toHaveTextContent("fallback");
    expect(attempts[1]).toHaveTextContent("800 ms · 100+40 tokens · $0.000120");
    expect(screen.getByText("2 attempts · 140 tokens · $0.000120 · 2.0 s from first call to last answer")).toBeInTheDocument();
  });

  it("says where it fell back and why", async () => {
    renderWithApi(<ExecutionTimeline executionId="exec-7" />, { "GET /executions/exec-7/usage": USAGE });
    expect(await screen.findByText("timeout on gpt-4o; fell back to gpt-4o-mini")).toBeInTheDocument();
  });

  it("tells a retry of the same model from a fallback", async () => {
    const retried: ExecutionUsage = {
      ...USAGE,
      attempts: 3,
      rows: [row(1, "gpt-4o", { status: "error", error_type: "rate_limited" }), ...USAGE.rows.map((r) => ({ ...r, attempt: r.attempt + 1, id: `x${r.id}` }))],
    };
    renderWithApi(<ExecutionTimeline executionId="exec-7" />, { "GET /executions/exec-7/usage": retried });
    expect(await screen.findByText("rate_limited on gpt-4o; retried it")).toBeInTheDocument();
    expect(screen.getByText("timeout on gpt-4o; fell back to gpt-4o-mini")).toBeInTheDocument();
  });

  it("shows a budget alert beside the attempts", async () => {
    const budget = { state: "exhausted", spent_today: "5", daily_budget: "5" } as BudgetStatus;
    renderWithApi(<ExecutionTimeline executionId="exec-7" budget={budget} />, { "GET /executions/exec-7/usage": USAGE });
    expect(await screen.findByRole("status")).toHaveTextContent("Budget exhausted today: $5.00 spent of $5.00");
  });

  it("says it is loading", () => {
    renderWithApi(<ExecutionTimeline executionId="exec-7" />, { "GET /executions/exec-7/usage": () => new Promise<Response>(() => {}) });
    expect(screen.getByText("Loading exec-7…")).toBeInTheDocument();
  });

  it("says when an execution has no attempts", async () => {
    renderWithApi(<ExecutionTimeline executionId="none" />, {
      "GET /executions/none/usage": { execution_id: "none", attempts: 0, total_tokens: 0, total_cost: "0", rows: [] },
    });
    expect(await screen.findByText("No attempts are recorded for execution none.")).toBeInTheDocument();
  });

  it("says when the ledger cannot be read", async () => {
    renderWithApi(<ExecutionTimeline executionId="exec-7" />, { "GET /executions/exec-7/usage": [503, { detail: "ledger database failed" }] });
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load exec-7: ledger database failed");
  });
});
