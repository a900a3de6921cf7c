import { describe, expect, it } from "vitest";
import { backoffMs } from "../api/hooks";
import { parseBlock } from "../api/sse";
import type { BudgetStatus } from "../api/types";
import { budgetShares, costPerDay, dayRange } from "./usage";
import { addFallback, errorsByField, moveItem, upgradeLegacy, withSource } from "./stepConfig";

describe("data shaping", () => {
  it("fills every day of the range and sums cost per group", () => {
    expect(dayRange("2026-11-29", 3)).toEqual(["2026-11-29", "2026-11-30", "2026-12-01"]);
    const rows = costPerDay({
      days: 2,
      since: "2026-12-05",
      group_by: "model",
      groups: ["a", "b"],
      points: [{ day: "2026-12-06", group: "b", calls: 1, errors: 0, total_tokens: 1, cost: "0.5" }],
    });
    expect(rows).toEqual([{ day: "2026-12-05", a: 0, b: 0 }, { day: "2026-12-06", a: 0, b: 0.5 }]);
  });

  it("caps the budget gauge at 100 %", () => {
    const budget = { daily_budget: "2", spent_today: "3", reserved_today: "1", alert_threshold_percent: "80" } as BudgetStatus;
    expect(budgetShares(budget)).toEqual({ spent: 100, reserved: 0, alert: 80 });
  });

  it("edits step configs without touching what it does not own", () => {
    expect(moveItem(["a", "b", "c"], 2, 0)).toEqual(["c", "a", "b"]);
    expect(moveItem(["a"], 0, 1)).toEqual(["a"]);
    expect(addFallback(["a"], "b", "x")).toEqual({ list: ["a", "b"] });
    expect(addFallback(["a"], "a", "x")).toEqual({ error: "a is already in the list; each fallback model may appear once" });
    expect(addFallback(["a"], "x", "x")).toEqual({ error: "x is the preferred model already; pick another fallback" });
    const { step, stash } = withSource({ prompt: "p", model: "m" }, "template", {});
    expect(step).toEqual({ model: "m", template: "" });
    expect(withSource(step, "prompt", stash).step).toEqual({ model: "m", prompt: "p" });
    expect(upgradeLegacy({ prompt: "Hi {name}, {{literal}}" })).toEqual({ config_version: 2, prompt: "Hi {{ name }}, {literal}" });
  });

  it("files validate's lines under their top-level field", () => {
    expect(errorsByField(["fallback_models[1]: 'x' repeats fallback_models[0]", "<step>: needs one", "a.b: c"])).toEqual({
      fallback_models: ["fallback_models[1]: 'x' repeats fallback_models[0]"],
      "": ["<step>: needs one"],
      a: ["a.b: c"],
    });
  });

  it("parses server-sent events and backs off reconnecting", () => {
    expect(parseBlock("event: status\ndata: [1,\ndata: 2]")).toEqual({ event: "status", data: "[1,\n2]" });
    expect(parseBlock(": keep-alive")).toBeNull();
    expect([1, 2, 3, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 30000]);
  });
});
