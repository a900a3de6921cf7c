import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { MODELS, recommendations, renderWithApi } from "../test/fakeApi";
import { ModelSelector, type ModelSelectorProps } from "./ModelSelector";

const ROUTES = {
  "GET /available": MODELS,
  "GET /recommendations": recommendations("customer_inquiry", ["claude-sonnet", "gpt-4o-mini"]),
};

function Controlled(props: Partial<ModelSelectorProps>) {
  const [model, setModel] = useState<string | null>(props.selectedModel ?? null);
  return (
    <>
      <ModelSelector
        {...props}
        selectedModel={model}
        onModelChange={(name) => {
          setModel(name);
          props.onModelChange?.(name);
        }}
      />
      <output aria-label="chosen">{model}</output>
    </>
  );
}

describe("ModelSelector", () => {
  it("lists models grouped by provider with prices, context and capabilities", async () => {
    const user = userEvent.setup();
    renderWithApi(<Controlled />, ROUTES);
    await user.click(await screen.findByRole("button", { name: /Model/ }));
    const listbox = await screen.findByRole("listbox");
    const groups = within(listbox).getAllByRole("group").map((g) => g.getAttribute("aria-label"));
    expect(groups).toEqual(["anthropic", "ollama", "openai"]);
    const mini = within(listbox).getByRole("option", { name: /gpt-4o-mini/ });
    expect(mini).toHaveTextContent("in $0.00015/1k · out $0.0006/1k · 128k context · text, json");
    expect(mini).toHaveTextContent("status unknown");
  });

  it("puts the task's recommended models first with their reasons", async () => {
    const user = userEvent.setup();
    renderWithApi(<Controlled taskType="customer_inquiry" />, ROUTES);
    await waitFor(() => expect(screen.getByRole("combobox")).toBeEnabled());
    await user.click(screen.getByRole("button", { name: /Model/ }));
    const [first] = await screen.findAllByRole("group");
    expect(first).toHaveAttribute("aria-label", "Recommended for customer_inquiry");
    const options = within(first!).getAllByRole("option");
    expect(options.map((o) => o.textContent)).toEqual([
      expect.stringContaining("claude-sonnet"),
      expect.stringContaining("gpt-4o-mini"),
    ]);
    expect(options[0]).toHaveTextContent("preferred for customer_inquiry (#1)");
  });

  it("is driven by the keyboard alone: type to filter, arrows, Enter", async () => {
    const user = userEvent.setup();
    const picked = vi.fn();
    renderWithApi(<Controlled onModelChange={picked} />, ROUTES);
    const input = screen.getByRole("combobox", { name: "Model" });
    await user.tab();
    expect(input).toHaveFocus();
    await screen.findByPlaceholderText("Search models");
    await user.keyboard("gpt");
    const listbox = await screen.findByRole("listbox");
    expect(within(listbox).getAllByRole("option").map((o) => o.textContent?.split("●")[0])).toEqual([
      "gpt-4o-mini",
      "gpt-4o",
    ]);
    await user.keyboard("{ArrowDown}{ArrowDown}{Enter}");
    expect(picked).toHaveBeenCalledWith("gpt-4o");
    expect(screen.getByRole("combobox")).toHaveValue("gpt-4o");
    expect(screen.queryByRole("listbox")).not.toBeInTheDocument();
    await user.keyboard("{ArrowDown}");
    expect(await screen.findByRole("listbox")).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("listbox")).not.toBeInTheDocument();
  });

  it("shows the step's worst case on each model", async () => {
    const user = userEvent.setup();
    const costs = {
      "gpt-4o": { model: "gpt-4o", max_tokens: 500, worst_case: "0.0051", fits_cost_limit: true, fits_per_request: null, fits_daily: null, refused: null },
      "claude-sonnet": { model: "claude-sonnet", max_tokens: null, worst_case: "0.02", fits_cost_limit: false, fits_per_request: null, fits_daily: null, refused: "refused by cost_limit: $0.02 > $0.01" },
    };
    renderWithApi(<Controlled costs={costs} />, ROUTES);
    await user.click(await screen.findByRole("button", { name: /Model/ }));
    expect(await screen.findByRole("option", { name: /^gpt-4o\s?●/ })).toHaveTextContent("this step: worst case $0.00510");
    expect(screen.getByRole("option", { name: /claude-sonnet/ })).toHaveTextContent("refused (refused by cost_limit");
  });

  it("shows live availability from the status stream", async () => {
    const user = userEvent.setup();
    const { api } = renderWithApi(<Controlled />, ROUTES);
    await user.click(await screen.findByRole("button", { name: /Model/ }));
    await screen.findByRole("listbox");
    await waitFor(() => expect(api.calls.some((c) => c.path === "/status/stream")).toBe(true));
    api.pushStatus([{ model: "gpt-4o", status: "unavailable", circuit: "open", latency_ms: 12, checked_at: null, reason: "quarantined: drill" }]);
    await waitFor(() => expect(screen.getByRole("option", { name: /^gpt-4o\s?●/ })).toHaveTextContent("unavailable"));
    expect(api.calls.every((c) => c.auth === "Bearer t0ken-for-tests")).toBe(true);
    expect(api.calls.every((c) => !c.path.includes("t0ken"))).toBe(true);
  });

  it("says when models cannot be loaded, and when none matches", async () => {
    const user = userEvent.setup();
    renderWithApi(<Controlled />, { "GET /available": [503, { detail: "ledger down" }] });
    await user.click(screen.getByRole("button", { name: /Model/ }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load models: ledger down");
  });

  it("says it is loading until the models arrive", async () => {
    renderWithApi(<Controlled />, { ...ROUTES, "GET /available": () => new Promise<Response>(() => {}) });
    expect(screen.getByPlaceholderText("Loading models…")).toBeInTheDocument();
  });

  it("says when no model matches the search", async () => {
    const user = userEvent.setup();
    renderWithApi(<Controlled />, ROUTES);
    await screen.findByPlaceholderText("Search models");
    await user.type(screen.getByRole("combobox"), "zzz");
    expect(await screen.findByText("No model matches “zzz”.")).toBeInTheDocument();
  });
});
