import {
  CheckCircleIcon,
  ClockIcon,
  QuestionMarkCircleIcon,
  XCircleIcon,
} from "@heroicons/react/20/solid";
import { useId, useState } from "react";
import type { CircuitState, HealthState } from "../api/types";
import { formatLatency, formatTime } from "../lib/format";

export interface ModelStatusIndicatorProps {
  /** The model's name, read out with its status. */
  model: string;
  /** Its last known health. */
  status: HealthState;
  /** Latency of the last check in milliseconds. */
  responseTime?: number | null;
  /** When it was last checked (ISO 8601); shown in the tooltip. */
  lastChecked?: string | null;
  /** The circuit breaker's state; shown in the tooltip. */
  circuit?: CircuitState;
  /** Why it is down (last error or quarantine reason); shown in the tooltip. */
  reason?: string | null;
  /** Hide the model's name and show only the status (in a list that names it already). */
  compact?: boolean;
  className?: string;
}

const LOOK: Record<HealthState, { label: string; Icon: typeof CheckCircleIcon; tone: string }> = {
  available: { label: "Available", Icon: CheckCircleIcon, tone: "bg-green-50 text-green-800 ring-green-600/30" },
  slow: { label: "Slow", Icon: ClockIcon, tone: "bg-amber-50 text-amber-800 ring-amber-600/30" },
  unavailable: { label: "Unavailable", Icon: XCircleIcon, tone: "bg-red-50 text-red-800 ring-red-600/30" },
  unknown: { label: "Unknown", Icon: QuestionMarkCircleIcon, tone: "bg-slate-100 text-slate-700 ring-slate-500/30" },
};

const CIRCUIT: Record<CircuitState, string> = {
  closed: "closed (taking traffic)",
  open: "open (no traffic until it cools down)",
  half_open: "half-open (trying one request)",
};

/** A model's health as colour, icon and text together (never colour alone), with a
 * tooltip giving the last check, the latency, the circuit state and the reason. */
export function ModelStatusIndicator({
  model,
  status,
  responseTime,
  lastChecked,
  circuit = "closed",
  reason,
  compact = false,
  className = "",
}: ModelStatusIndicatorProps) {
  const [open, setOpen] = useState(false);
  const tipId = useId();
  const { label, Icon, tone } = LOOK[status];
  return (
    <span
      className={`relative inline-flex ${className}`}
      onMouseEnter={() => setOpen(true)}
      onMouseLeave={() => setOpen(false)}
    >
      <span
        tabIndex={0}
        aria-describedby={open ? tipId : undefined}
        aria-label={`${model}: ${label}`}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={(event) => event.key === "Escape" && setOpen(false)}
        className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset focus:outline-none focus:ring-2 focus:ring-indigo-500 ${tone}`}
      >
        <Icon aria-hidden="true" className="h-4 w-4" />
        {compact ? label : `${model} · ${label}`}
        {responseTime !== undefined && responseTime !== null && (
          <span className="font-normal">{formatLatency(responseTime)}</span>
        )}
      </span>
      {open && (
        <span
          id={tipId}
          role="tooltip"
          className="absolute left-0 top-full z-20 mt-1 w-64 rounded-md bg-slate-900 p-2 text-xs text-white shadow-lg"
        >
          <span className="block font-semibold">{model}</span>
          <span className="block">Last check: {formatTime(lastChecked)}</span>
          <span className="block">Latency: {formatLatency(responseTime)}</span>
          <span className="block">Circuit: {CIRCUIT[circuit]}</span>
          {reason && <span className="block">Reason: {reason}</span>}
        </span>
      )}
    </span>
  );
}
