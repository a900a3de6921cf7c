import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderWithApi } from "../test/fakeApi";
import { LiveModelStatus } from "./LiveModelStatus";
import { ModelStatusIndicator } from "./ModelStatusIndicator";

describe("ModelStatusIndicator", () => {
  it.each([
    ["available", "Available", "text-green-800"],
    ["slow", "Slow", "text-amber-800"],
    ["unavailable", "Unavailable", "text-red-800"],
    ["unknown", "Unknown", "text-slate-700"],
  ] as const)("shows %s as text and an icon, not colour alone", (status, word, tone) => {
    render(<ModelStatusIndicator model="gpt-4o" status={status} />);
    const badge = screen.getByLabelText(`gpt-4o: ${word}`);
    expect(badge).toHaveTextContent(`gpt-4o · ${word}`);
    expect(badge.querySelector("svg")).not.toBeNull();
    expect(badge).toHaveClass(tone);
  });

  it("shows the latency and keeps the className", () => {
    render(<ModelStatusIndicator model="m" status="slow" responseTime={2345} className="ml-2" />);
    expect(screen.getByLabelText("m: Slow")).toHaveTextContent("2.3 s");
    expect(screen.getByLabelText("m: Slow").parentElement).toHaveClass("ml-2");
  });

  it("gives last check, latency, circuit and reason in a tooltip on hover and focus", async () => {
    const user = userEvent.setup();
    render(
      <ModelStatusIndicator
        model="gpt-4o"
        status="unavailable"
        responseTime={812}
        lastChecked="2026-12-06T10:00:00Z"
        circuit="open"
        reason="quarantined: provider outage"
      />,
    );
    expect(screen.queryByRole("tooltip")).not.toBeInTheDocument();
    await user.hover(screen.getByLabelText("gpt-4o: Unavailable"));
    const tip = screen.getByRole("tooltip");
    expect(tip).toHaveTextContent("Last check: 2026-12-06 10:00:00 UTC");
    expect(tip).toHaveTextContent("Latency: 812 ms");
    expect(tip).toHaveTextContent("Circuit: open (no traffic until it cools down)");
    expect(tip).toHaveTextContent("Reason: quarantined: provider outage");
    await user.unhover(screen.getByLabelText("gpt-4o: Unavailable"));
    expect(screen.queryByRole("tooltip")).not.toBeInTheDocument();
    await user.tab();
    expect(screen.getByLabelText("gpt-4o: Unavailable")).toHaveAccessibleDescription(/Circuit: open/);
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("tooltip")).not.toBeInTheDocument();
  });

  it("says 'never' before the first check", async () => {
    const user = userEvent.setup();
    render(<ModelStatusIndicator model="m" status="unknown" />);
    await user.hover(screen.getByLabelText("m: Unknown"));
    expect(screen.getByRole("tooltip")).toHaveTextContent("Last check: never");
  });

  it("updates live from the status stream", async () => {
    const { api } = renderWithApi(<LiveModelStatus model="gpt-4o" />, {
      "GET /status": [{ model: "gpt-4o", status: "available", circuit: "closed", latency_ms: 90, checked_at: null, reason: null }],
    });
    expect(await screen.findByLabelText("gpt-4o: Available")).toHaveTextContent("90 ms");
    await waitFor(() => expect(api.calls.some((c) => c.path === "/status/stream")).toBe(true));
    api.pushStatus([{ model: "gpt-4o", status: "unavailable", circuit: "open", latency_ms: 5000, checked_at: null, reason: "timeout" }]);
    expect(await screen.findByLabelText("gpt-4o: Unavailable")).toHaveClass("text-red-800");
  });

  it("is unknown until the status arrives", () => {
    renderWithApi(<LiveModelStatus model="gpt-4o" />, {});
    expect(screen.getByLabelText("gpt-4o: Unknown")).toBeInTheDocument();
  });
});
