import { CostDashboard } from "../../components/CostDashboard";

/** Usage: the cost dashboard; an execution picked there opens its timeline. */
export function UsagePage() {
  return (
    <CostDashboard
      initialDays={30}
      onSelectExecution={(id) => {
        window.location.hash = `#/executions/${encodeURIComponent(id)}`;
      }}
    />
  );
}
