import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { createApiClient } from "../api/client";
import { ApiProvider } from "../api/context";
import type { AvailableModel, AvailableModels, ModelStatusEvent, Recommendations } from "../api/types";

/** A route's answer: a JSON body (200), [status, body], or a function of the request. */
export type Answer = unknown | ((url: URL, init: RequestInit) => Response | Promise<Response>);

export interface FakeApi {
  calls: { method: string; path: string; body: unknown; auth: string | null }[];
  /** Push one status event to open status streams. */
  pushStatus(statuses: ModelStatusEvent[]): void;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** A fetch answering `/api/models/...` routes ("GET /available") from a table; the status
 * stream stays open and carries what `pushStatus` sends. Unknown routes are a 404. */
export function fakeFetch(routes: Record<string, Answer>): { fetch: typeof fetch; api: FakeApi } {
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  const api: FakeApi = {
    calls: [],
    pushStatus(statuses) {
      const chunk = new TextEncoder().encode(`event: status\ndata: ${JSON.stringify(statuses)}\n\n`);
      for (const controller of streams) controller.enqueue(chunk);
    },
  };
  const doFetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), "http://console.test");
    const method = (init.method ?? "GET").toUpperCase();
    const path = url.pathname.replace(/^\/api\/models/, "");
    const headers = new Headers(init.headers);
    api.calls.push({
      method,
      path: path + url.search,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      auth: headers.get("Authorization"),
    });
    if (path === "/status/stream") {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          streams.push(controller);
          init.signal?.addEventListener("abort", () => controller.close());
        },
      });
      return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
    }
    const answer = routes[`${method} ${path}`];
    if (answer === undefined) return json({ detail: `no fake for ${method} ${path}` }, 404);
    if (typeof answer === "function") return answer(url, init);
    if (Array.isArray(answer) && typeof answer[0] === "number") return json(answer[1], answer[0]);
    return json(answer);
  };
  return { fetch: doFetch as typeof fetch, api };
}

/** Render `ui` with a fresh query cache and a client on the fake API. */
export function renderWithApi(ui: ReactElement, routes: Record<string, Answer>, token = "t0ken-for-tests") {
  const { fetch, api } = fakeFetch({ "GET /status": [], ...routes });
  const client = createApiClient({ baseUrl: "", token, fetch });
  const queries = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const view = render(
    <QueryClientProvider client={queries}>
      <ApiProvider client={client}>{ui}</ApiProvider>
    </QueryClientProvider>,
  );
  return { ...view, api };
}

export function model(name: string, provider: string, extra: Partial<AvailableModel> = {}): AvailableModel {
  return {
    name,
    provider,
    input_cost_per_1k: "0.0005",
    output_cost_per_1k: "0.0015",
    price_source: "policy",
    context_window: 16000,
    max_output_tokens: 4096,
    capabilities: ["text"],
    use_cases: ["general"],
    quality: 5,
    status: "unknown",
    circuit: "closed",
    latency_ms: null,
    last_checked: null,
    ...extra,
  };
}

export const MODELS: AvailableModels = {
  policy_version: "abc123",
  default_model: "gpt-4o-mini",
  models: [
    model("gpt-4o-mini", "openai", { input_cost_per_1k: "0.00015", output_cost_per_1k: "0.0006", context_window: 128000, capabilities: ["text", "json"] }),
    model("gpt-4o", "openai", { input_cost_per_1k: "0.0025", output_cost_per_1k: "0.01", quality: 9 }),
    model("claude-sonnet", "anthropic", { input_cost_per_1k: "0.003", output_cost_per_1k: "0.015", context_window: 200000 }),
    model("local-llama", "ollama", { input_cost_per_1k: "0", output_cost_per_1k: "0", context_window: 8192 }),
  ],
};

export function recommendations(taskType: string, order: string[]): Recommendations {
  return {
    task_type: taskType,
    context_length: 0,
    cost_preference: "balanced",
    recommended: order[0] ?? null,
    reasons: [],
    models: order.map((name, index) => ({
      rank: index + 1,
      model: name,
      provider: MODELS.models.find((m) => m.name === name)?.provider ?? "openai",
      score: 1 - index / 10,
      fits: true,
      quality: 5,
      estimated_cost_per_1k: "0.001",
      input_cost_per_1k: "0.001",
      output_cost_per_1k: "0.001",
      status: "unknown",
      reasons: [`preferred for ${taskType} (#${index + 1})`],
    })),
  };
}
