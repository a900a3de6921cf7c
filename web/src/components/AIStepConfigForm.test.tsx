import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import shippedSchema from "../../../schemas/ai_step.schema.json";
import type { StepConfig, StepEstimateReport } from "../api/types";
import { MODELS, recommendations, renderWithApi } from "../test/fakeApi";
import { AIStepConfigForm, type StepValidity } from "./AIStepConfigForm";

const PRICES: Record<string, [number, number]> = {
  "gpt-4o-mini": [0.00015, 0.0006],
  "gpt-4o": [0.0025, 0.01],
  "claude-sonnet": [0.003, 0.015],
  "local-llama": [0, 0],
};

/** A stand-in for POST /step/estimate: prompt tokens from the prompt's length, worst case
 * from the fixture prices, fits from the step's cost_limit. */
function estimate(_url: URL, init: RequestInit): Response {
  const { step } = JSON.parse(String(init.body)) as { step: StepConfig };
  const tokens = String(step.prompt ?? step.template ?? "").length;
  const maxTokens = Number(step.max_tokens ?? 1000);
  const limit = typeof step.cost_limit === "number" ? step.cost_limit : null;
  const row = (model: string) => {
    const [input, output] = PRICES[model] ?? [0, 0];
    const worst = (tokens * input + maxTokens * output) / 1000;
    return { model, max_tokens: maxTokens, worst_case: worst.toFixed(10), fits_cost_limit: limit === null ? null : worst <= limit, fits_per_request: null, fits_daily: null, refused: null };
  };
  const chain = [String(step.model), ...((step.fallback_models as string[]) ?? [])];
  const body: StepEstimateReport = {
    prompt_tokens: tokens,
    daily_left: null,
    candidates: chain.map(row),
    skipped: [],
    each_model: Object.keys(PRICES).map(row),
  };
  return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
}

/** A stand-in for POST /step/validate, answering in the CLI's words for what the tests send. */
function validate(_url: URL, init: RequestInit): Response {
  const { step } = JSON.parse(String(init.body)) as { step: StepConfig };
  const errors: string[] = [];
  if (typeof step.temperature === "number" && step.temperature > 2) errors.push(`temperature: must be <= 2 (got ${step.temperature})`);
  if (step.model === "retired-model") errors.push("model: 'retired-model' is not a known model (known: gpt-4o-mini, gpt-4o, claude-sonnet, local-llama, auto)");
  const body = { valid: errors.length === 0, legacy: !("config_version" in step), errors };
  return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
}

const ROUTES = {
  "GET /available": MODELS,
  "GET /recommendations": recommendations("customer_inquiry", ["gpt-4o-mini"]),
  "GET /step-schema": shippedSchema,
  "POST /step/estimate": estimate,
  "POST /step/validate": validate,
};

function Harness({ initial, seen, validity }: { initial: StepConfig; seen: StepConfig[]; validity?: (v: StepValidity) => void }) {
  const [step, setStep] = useState(initial);
  return (
    <AIStepConfigForm
      value={step}
      onValidity={validity}
      onChange={(next) => {
        seen.push(next);
        setStep(next);
      }}
    />
  );
}

const STEP = { config_version: 2, prompt: "Answer {{ inquiry }}", model: "gpt-4o-mini", max_tokens: 1000 };

describe("AIStepConfigForm", () => {
  it("shows one prompt source at a time and restores one when switched back", async () => {
    const user = userEvent.setup();
    const seen: StepConfig[] = [];
    renderWithApi(<Harness initial={STEP} seen={seen} />, ROUTES);
    expect(await screen.findByLabelText("Prompt")).toHaveValue("Answer {{ inquiry }}");
    expect(screen.queryByLabelText("Template")).not.toBeInTheDocument();
    await user.click(screen.getByRole("radio", { name: "Built-in template" }));
    expect(screen.queryByLabelText("Prompt")).not.toBeInTheDocument();
    await user.type(screen.getByLabelText("Template"), "customer_inquiry");
    expect(seen.at(-1)).toEqual({ config_version: 2, model: "gpt-4o-mini", max_tokens: 1000, template: "customer_inquiry" });
    await user.click(screen.getByRole("radio", { name: "Chat messages" }));
    expect(screen.getByLabelText("Message 1 content")).toBeInTheDocument();
    await user.click(screen.getByRole("radio", { name: "Write a prompt" }));
    expect(screen.getByLabelText("Prompt")).toHaveValue("Answer {{ inquiry }}");
    expect(Object.keys(seen.at(-1)!)).not.toContain("template");
    expect(Object.keys(seen.at(-1)!)).not.toContain("messages");
  });

  it("labels fields with the schema's titles and descriptions", async () => {
    renderWithApi(<Harness initial={STEP} seen={[]} />, ROUTES);
    const system = await screen.findByLabelText("System prompt");
    expect(system).toHaveAccessibleDescription(/The system message sent before the prompt/);
  });

  it("picks the model with the selector and emits the step config", async () => {
    const user = userEvent.setup();
    const seen: StepConfig[] = [];
    renderWithApi(<Harness initial={STEP} seen={seen} />, ROUTES);
    const model = await screen.findByRole("combobox", { name: "Model" });
    await user.clear(model);
    await user.type(model, "claude");
    await user.keyboard("{ArrowDown}{Enter}");
    expect(seen.at(-1)).toEqual({ ...STEP, model: "claude-sonnet" });
  });

  it("keeps fallbacks in order, reorders them and refuses a duplicate inline", async () => {
    const user = userEvent.setup();
    const seen: StepConfig[] = [];
    renderWithApi(<Harness initial={{ ...STEP, fallback_models: ["gpt-4o", "local-llama"] }} seen={seen} />, ROUTES);
    const order = await screen.findByRole("list", { name: "Fallback order" });
    expect(within(order).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["1.gpt-4o", "2.local-llama"]);
    await user.click(screen.getByRole("button", { name: "Move local-llama up" }));
    expect(seen.at(-1)?.fallback_models).toEqual(["local-llama", "gpt-4o"]);
    const add = screen.getByRole("combobox", { name: "Add fallback model" });
    await user.type(add, "gpt-4o");
    await user.keyboard("{ArrowDown}{ArrowDown}{Enter}");
    expect(screen.getByRole("alert")).toHaveTextContent("gpt-4o is already in the list; each fallback model may appear once");
    expect(seen.at(-1)?.fallback_models).toEqual(["local-llama", "gpt-4o"]);
    await user.type(add, "claude");
    await user.keyboard("{ArrowDown}{Enter}");
    expect(seen.at(-1)?.fallback_models).toEqual(["local-llama", "gpt-4o", "claude-sonnet"]);
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Remove gpt-4o" }));
    expect(seen.at(-1)?.fallback_models).toEqual(["local-llama", "claude-sonnet"]);
  });

  it("shows the live estimate per candidate and which fit the cost limit", async () => {
    const user = userEvent.setup();
    renderWithApi(<Harness initial={{ ...STEP, fallback_models: ["gpt-4o"] }} seen={[]} />, ROUTES);
    const table = await screen.findByRole("table", { name: "Worst-case cost per candidate" });
    expect(within(table).getByRole("rowheader", { name: "1. gpt-4o-mini" })).toBeInTheDocument();
    expect(screen.getByText(/20 prompt tokens/)).toBeInTheDocument();
    await user.type(screen.getByLabelText("Prompt"), " in detail");
    expect(await screen.findByText(/30 prompt tokens/)).toBeInTheDocument();
    await user.type(screen.getByLabelText("Cost limit (USD)"), "0.005");
    expect(await screen.findByText("Within the cost limit: gpt-4o-mini")).toBeInTheDocument();
    const limit = screen.getByLabelText("Cost limit (USD)");
    await user.clear(limit);
    await user.type(limit, "0.0001");
    expect(await screen.findByText("No candidate fits the cost limit")).toBeInTheDocument();
  });

  it("shows the worst case of the step on each model in the selector", async () => {
    const user = userEvent.setup();
    renderWithApi(<Harness initial={STEP} seen={[]} />, ROUTES);
    await screen.findByText(/20 prompt tokens/);
    await user.click(screen.getByRole("button", { name: /^Model/ }));
    expect(await screen.findByRole("option", { name: /^gpt-4o\s?●/ })).toHaveTextContent("this step: worst case $0.0100");
  });

  it("says the CLI validate words at the field and reports the step invalid", async () => {
    const user = userEvent.setup();
    const validity = vi.fn();
    renderWithApi(<Harness initial={STEP} seen={[]} validity={validity} />, ROUTES);
    await waitFor(() => expect(validity).toHaveBeenLastCalledWith({ valid: true, legacy: false, errors: [] }));
    await user.type(await screen.findByLabelText("Temperature"), "3");
    expect(await screen.findByText("temperature: must be <= 2 (got 3)")).toBeInTheDocument();
    expect(screen.getByLabelText("Temperature")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Temperature")).toHaveAccessibleDescription("temperature: must be <= 2 (got 3)");
    await waitFor(() => expect(validity).toHaveBeenLastCalledWith({ valid: false, legacy: false, errors: ["temperature: must be <= 2 (got 3)"] }));
  });

  it("finds a schema error itself with Ajv: no prompt source is invalid", async () => {
    const validity = vi.fn();
    renderWithApi(<Harness initial={{ config_version: 2, model: "gpt-4o" }} seen={[]} validity={validity} />, ROUTES);
    await waitFor(() => expect(validity).toHaveBeenCalled());
    expect(validity).toHaveBeenLastCalledWith(expect.objectContaining({ valid: false }));
    expect(screen.getByText("No estimate: the step does not validate yet")).toBeInTheDocument();
  });

  it("shows a legacy node as legacy and keeps it byte for byte until upgraded", async () => {
    const user = userEvent.setup();
    const seen: StepConfig[] = [];
    const legacy = { label: "Old", prompt: "Summarise {inquiry} for {customer_name}", model: "gpt-4o-mini" };
    renderWithApi(<Harness initial={legacy} seen={seen} />, ROUTES);
    expect(await screen.findByText("Legacy node (no config_version)")).toBeInTheDocument();
    expect(screen.getByLabelText("Legacy step config")).toHaveTextContent('"prompt": "Summarise {inquiry} for {customer_name}"');
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Upgrade to version 2" }));
    expect(seen).toEqual([{ config_version: 2, label: "Old", prompt: "Summarise {{ inquiry }} for {{ customer_name }}", model: "gpt-4o-mini" }]);
    expect(await screen.findByLabelText("Prompt")).toHaveValue("Summarise {{ inquiry }} for {{ customer_name }}");
  });

  it("says it is loading the schema", () => {
    renderWithApi(<Harness initial={STEP} seen={[]} />, { ...ROUTES, "GET /step-schema": () => new Promise<Response>(() => {}) });
    expect(screen.getByText("Loading the step schema…")).toBeInTheDocument();
  });

  it("says when the schema cannot be loaded", async () => {
    renderWithApi(<Harness initial={STEP} seen={[]} />, { "GET /step-schema": [401, { detail: "a valid bearer token is required" }] });
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load the step schema: a valid bearer token is required");
  });
});
