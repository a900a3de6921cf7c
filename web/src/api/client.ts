import type {
  AvailableModels,
  BudgetStatus,
  ConfigView,
  ExecutionUsage,
  GroupBy,
  HealthCheckResult,
  ModelStatusEvent,
  PerformanceReport,
  Recommendations,
  StepCheck,
  StepConfig,
  StepEstimateReport,
  TryRun,
  UsageSeries,
  WhatIfRequest,
  WhatIfResult,
} from "./types";
import { readEvents } from "./sse";

/** Where the API is and how to authenticate; the token only ever goes in a header. */
export interface ApiClientOptions {
  /** Origin plus any mount prefix, e.g. "" (same origin) or "https://host/ai". */
  baseUrl: string;
  /** Bearer token; null when the host authenticates by cookie or there is none. */
  token?: string | null;
  /** For tests and hosts with their own fetch. */
  fetch?: typeof fetch;
}

/** A refusal from the API: its status and the `detail` of its body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
  ) {
    super(ApiError.describe(status, detail));
    this.name = "ApiError";
  }

  /** The error lines a body carries ({message, errors} or FastAPI's list). */
  get errors(): string[] {
    const detail = this.detail as { errors?: unknown } | unknown[] | string | null;
    if (Array.isArray(detail)) return detail.map((d) => String((d as { msg?: string }).msg ?? d));
    if (detail && typeof detail === "object" && Array.isArray(detail.errors))
      return detail.errors.map(String);
    return [];
  }

  static describe(status: number, detail: unknown): string {
    if (typeof detail === "string") return detail;
    if (detail && typeof detail === "object" && "message" in detail)
      return String((detail as { message: unknown }).message);
    return `HTTP ${status}`;
  }
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** One small typed client over the `/api/models` routes; components never build URLs. */
export function createApiClient({ baseUrl, token, fetch: doFetch }: ApiClientOptions) {
  const root = `${baseUrl.replace(/\/$/, "")}/api/models`;
  const send = doFetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));

  function headers(json: boolean): HeadersInit {
    return {
      Accept: json ? "application/json" : "text/event-stream",
      ...(json ? { "Content-Type": "application/json" } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    };
  }

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await send(`${root}${path}`, {
      method,
      headers: headers(true),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) {
      throw new ApiError(response.status, (data as { detail?: unknown } | null)?.detail ?? text);
    }
    return data as T;
  }

  const query = (params: Record<string, string | number | undefined | null>) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params))
      if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    const text = search.toString();
    return text ? `?${text}` : "";
  };

  return {
    available: () => call<AvailableModels>("GET", "/available"),
    recommendations: (taskType?: string | null, contextLength = 0) =>
      call<Recommendations>(
        "GET",
        `/recommendations${query({ task_type: taskType, context_length: contextLength })}`,
      ),
    stepSchema: () => call<Record<string, unknown>>("GET", "/step-schema"),
    healthCheck: (model: string) => call<HealthCheckResult>("POST", "/health-check", { model }),
    status: () => call<ModelStatusEvent[]>("GET", "/status"),
    usageSeries: (days: number, groupBy: GroupBy) =>
      call<UsageSeries>("GET", `/usage/series${query({ days, group_by: groupBy })}`),
    performance: (days: number) =>
      call<PerformanceReport>("GET", `/usage/performance${query({ days })}`),
    budget: () => call<BudgetStatus>("GET", "/budget"),
    executionUsage: (executionId: string) =>
      call<ExecutionUsage>("GET", `/executions/${encodeURIComponent(executionId)}/usage`),
    validateStep: (step: StepConfig) => call<StepCheck>("POST", "/step/validate", { step }),
    estimateStep: (step: StepConfig, input: Record<string, unknown> = {}, eachModel = false) =>
      call<StepEstimateReport>("POST", "/step/estimate", { step, input, each_model: eachModel }),
    /** Run the step on the built-in simulator (no provider, a throwaway ledger). */
    tryStep: (step: StepConfig, input: Record<string, unknown> = {}) =>
      call<TryRun>("POST", "/step/try", { step, input }),
    /** Replay the recorded steps under a candidate policy (no model is called). */
    whatIf: (request: WhatIfRequest) => call<WhatIfResult>("POST", "/whatif", request),
    config: () => call<ConfigView>("GET", "/config"),
    putConfig: (configs: Record<string, unknown>) => call<ConfigView>("PUT", "/config", configs),
    /** Follow the status stream until `signal` aborts; each event's list goes to `onStatus`. */
    async streamStatus(
      onStatus: (statuses: ModelStatusEvent[]) => void,
      signal: AbortSignal,
    ): Promise<void> {
      const response = await send(`${root}/status/stream`, { headers: headers(false), signal });
      if (!response.ok || !response.body) throw new ApiError(response.status, "status stream");
      for await (const event of readEvents(response.body)) {
        if (event.event === "status") onStatus(JSON.parse(event.data) as ModelStatusEvent[]);
      }
    },
  };
}
