import { useLiveStatus } from "../api/hooks";
import { ModelStatusIndicator } from "./ModelStatusIndicator";

export interface LiveModelStatusProps {
  model: string;
  compact?: boolean;
  className?: string;
}

/** A ModelStatusIndicator kept current by the API's status stream. */
export function LiveModelStatus({ model, compact, className }: LiveModelStatusProps) {
  const live = useLiveStatus()?.[model];
  return (
    <ModelStatusIndicator
      model={model}
      status={live?.status ?? "unknown"}
      responseTime={live?.latency_ms}
      lastChecked={live?.checked_at}
      circuit={live?.circuit}
      reason={live?.reason}
      compact={compact}
      className={className}
    />
  );
}
