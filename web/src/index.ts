// The components a host's frontend imports; the console is built from the same ones.
export { ApiError, createApiClient, type ApiClient, type ApiClientOptions } from "./api/client";
export { ApiProvider, useApiClient } from "./api/context";
export * from "./api/hooks";
export type * from "./api/types";
export { AIStepConfigForm, type AIStepConfigFormProps, type StepValidity } from "./components/AIStepConfigForm";
export { BudgetGauge } from "./components/BudgetGauge";
export { CostByDayChart, type CostByDayChartProps } from "./components/CostByDayChart";
export { CostDashboard, type CostDashboardProps } from "./components/CostDashboard";
export { ExecutionTimeline, Waterfall, type ExecutionTimelineProps } from "./components/ExecutionTimeline";
export { FallbackList, type FallbackListProps } from "./components/FallbackList";
export { LiveModelStatus, type LiveModelStatusProps } from "./components/LiveModelStatus";
export { ModelSelector, type ModelSelectorProps } from "./components/ModelSelector";
export { ModelStatusIndicator, type ModelStatusIndicatorProps } from "./components/ModelStatusIndicator";
export { PerformanceTable } from "./components/PerformanceTable";
export { StepEstimate, type StepEstimateProps } from "./components/StepEstimate";
export { TopCostsTable, type TopCostsTableProps } from "./components/TopCostsTable";
