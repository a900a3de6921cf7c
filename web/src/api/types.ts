/** Bodies of the model management API (auterity_ai_step/api_models.py, api_console_models.py).
 * Money is a decimal string of US dollars; times are ISO 8601 UTC strings. */

export type Money = string;
export type HealthState = "available" | "slow" | "unavailable" | "unknown";
export type CircuitState = "closed" | "open" | "half_open";
export type GroupBy = "model" | "provider";

export interface AvailableModel {
  name: string;
  provider: string;
  input_cost_per_1k: Money | null;
  output_cost_per_1k: Money | null;
  price_source: "policy" | "litellm" | null;
  context_window: number;
  max_output_tokens: number;
  capabilities: string[];
  use_cases: string[];
  quality: number;
  status: HealthState;
  circuit: CircuitState;
  latency_ms: number | null;
  last_checked: string | null;
}

export interface AvailableModels {
  policy_version: string;
  default_model: string;
  models: AvailableModel[];
}

export interface RankedEntry {
  rank: number;
  model: string;
  provider: string;
  score: number;
  fits: boolean;
  quality: number;
  estimated_cost_per_1k: Money | null;
  input_cost_per_1k: Money | null;
  output_cost_per_1k: Money | null;
  status: HealthState;
  reasons: string[];
}

export interface Recommendations {
  task_type: string | null;
  context_length: number;
  cost_preference: "cheapest" | "balanced" | "quality";
  recommended: string | null;
  reasons: string[];
  models: RankedEntry[];
}

export interface HealthCheckResult {
  model: string;
  status: HealthState;
  latency_ms: number | null;
  error: string | null;
  checked_at: string;
  circuit: CircuitState;
}

export interface ModelStatusEvent {
  model: string;
  status: HealthState;
  circuit: CircuitState;
  latency_ms: number | null;
  checked_at: string | null;
  reason: string | null;
}

export interface UsageRow {
  id: string;
  execution_id: string | null;
  node_id: string | null;
  model_name: string;
  provider: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost: Money;
  latency_ms: number;
  status: string;
  error_type: string | null;
  attempt: number;
  is_fallback: boolean;
  price_version: string | null;
  created_at: string;
}

export interface ExecutionUsage {
  execution_id: string;
  attempts: number;
  total_tokens: number;
  total_cost: Money;
  rows: UsageRow[];
}

export interface SeriesPoint {
  day: string;
  group: string;
  calls: number;
  errors: number;
  total_tokens: number;
  cost: Money;
}

export interface UsageSeries {
  days: number;
  since: string;
  group_by: GroupBy;
  groups: string[];
  points: SeriesPoint[];
}

export interface ModelPerformance {
  model: string;
  calls: number;
  errors: number;
  error_rate_percent: string;
  fallbacks: number;
  p50_latency_ms: number;
  p95_latency_ms: number;
}

export interface TopCost {
  key: string;
  attempts: number;
  cost: Money;
}

export interface PerformanceReport {
  days: number;
  models: ModelPerformance[];
  top_executions: TopCost[];
  top_nodes: TopCost[];
}

export interface BudgetStatus {
  daily_budget: Money | null;
  alert_threshold_percent: string;
  alert_at: Money | null;
  timezone: string;
  today: string;
  spent_today: Money;
  reserved_today: Money;
  left_today: Money | null;
  state: "ok" | "alert" | "exhausted" | "no_budget";
  month_spent: Money;
  month_days_elapsed: number;
  month_days: number;
  month_projection: Money;
  month_budget: Money | null;
}

export interface StepCheck {
  valid: boolean;
  legacy: boolean;
  errors: string[];
}

export interface CandidateCost {
  model: string;
  max_tokens: number | null;
  worst_case: Money | null;
  fits_cost_limit: boolean | null;
  fits_per_request: boolean | null;
  fits_daily: boolean | null;
  refused: string | null;
}

export interface StepEstimateReport {
  prompt_tokens: number;
  daily_left: Money | null;
  candidates: CandidateCost[];
  skipped: { model: string; reason: string }[];
  each_model: CandidateCost[];
}

export interface ConfigModel {
  name: string;
  provider: string;
  source: "file" | "override" | "file+override";
  api_key_env: string | null;
  api_key_set: boolean;
}

export interface ConfigView {
  policy_version: string;
  policy_source: string;
  overrides: Record<string, Record<string, unknown>>;
  models: ConfigModel[];
  last_refused: string | null;
}

/** The step config object the engine stores in `node.data` (the schema has the details). */
export type StepConfig = Record<string, unknown>;

export interface TryAttempt {
  attempt: number;
  model: string;
  outcome: string;
  error_type: string | null;
  latency_ms: number;
  total_tokens: number;
  cost: Money;
  is_fallback: boolean;
}

/** A step run on the built-in simulator (POST /step/try). */
export interface TryRun {
  success: boolean;
  response: string | null;
  model: string | null;
  cost: Money;
  error: string | null;
  error_type: string | null;
  attempts: TryAttempt[];
}

/** `POST /whatif`: which recorded steps to replay, under which policy (auterity_ai_step/api_whatif.py). */
export interface WhatIfRequest {
  /** A policy document, or its YAML text; null or absent: the live policy. */
  policy?: string | Record<string, unknown> | null;
  days?: number;
  /** Replay from this UTC day (YYYY-MM-DD) instead of `days`. */
  since?: string | null;
  execution_id?: string | null;
}

/** Steps and cost then (recorded) and now (under the candidate); `difference` is signed. */
export interface WhatIfTotals {
  steps_then: number;
  steps_now: number;
  cost_then: Money;
  cost_now: Money;
  difference: string;
}

export interface WhatIfGroup extends WhatIfTotals {
  name: string;
}

export interface WhatIfDayModel extends WhatIfTotals {
  day: string;
  model: string;
}

export interface WhatIfRefusedStep {
  execution_id: string | null;
  node_id: string | null;
  at: string;
  limit: string;
  reason: string;
}

export interface WhatIfContextMiss {
  execution_id: string | null;
  node_id: string | null;
  model: string;
  context_window: number;
  needed: number;
  routed_to: string | null;
}

export interface WhatIfBudgetDay {
  day: string;
  budget: Money;
  spent: Money;
  refused_steps: number;
  ran_out_at: string | null;
  alert_at: string | null;
}

/** The replay's report, as `auterity-ai-step whatif --json` prints it. */
export interface WhatIfResult {
  policy_version: string;
  since: string | null;
  execution_id: string | null;
  steps: number;
  unanswered_then: number;
  old_steps: number;
  total: WhatIfTotals;
  cost_now_estimate: Money;
  estimated_steps: number;
  unestimated_steps: number;
  truncated_steps: number;
  by_model: WhatIfGroup[];
  by_task_type: WhatIfGroup[];
  by_node: WhatIfGroup[];
  by_day_model: WhatIfDayModel[];
  refused_steps: number;
  refused_by_limit: Record<string, number>;
  refused: WhatIfRefusedStep[];
  context_miss_steps: number;
  context_misses: WhatIfContextMiss[];
  budget_days: WhatIfBudgetDay[];
  caveats: string[];
}
