import { Combobox } from "@headlessui/react";
import { CheckIcon, ChevronUpDownIcon, SparklesIcon } from "@heroicons/react/20/solid";
import { useState } from "react";
import { useAvailableModels, useLiveStatus, useRecommendations } from "../api/hooks";
import type { AvailableModel, CandidateCost, HealthState } from "../api/types";
import { formatMoney, formatPrice, formatTokens } from "../lib/format";
import { groupModels, reasonsFor } from "../lib/models";

export interface ModelSelectorProps {
  /** The chosen model's name, or null when none is chosen yet. */
  selectedModel: string | null;
  /** Called with the name the user picks. */
  onModelChange: (model: string) => void;
  /** The task the step does (a key of the policy's task_preferences, or a use case):
   * its recommended models are listed first, with the reasons. */
  taskType?: string | null;
  /** Worst-case cost of the current step on each model, from the API's estimate. */
  costs?: Record<string, CandidateCost>;
  /** Visible label of the combobox. */
  label?: string;
  /** Models not to offer (e.g. ones already in the list being edited). */
  exclude?: string[];
  className?: string;
}

const DOT: Record<HealthState, string> = {
  available: "text-green-700",
  slow: "text-amber-700",
  unavailable: "text-red-700",
  unknown: "text-slate-500",
};
const WORD: Record<HealthState, string> = {
  available: "available",
  slow: "slow",
  unavailable: "unavailable",
  unknown: "status unknown",
};

/** An accessible, keyboard-driven combobox of the policy's models, grouped by provider,
 * with prices, context window, capabilities, live availability and the step's worst case. */
export function ModelSelector({
  selectedModel,
  onModelChange,
  taskType,
  costs,
  label = "Model",
  exclude = [],
  className = "",
}: ModelSelectorProps) {
  const [query, setQuery] = useState("");
  const available = useAvailableModels();
  const recommendations = useRecommendations(taskType);
  const live = useLiveStatus();
  const models = (available.data?.models ?? []).filter((m) => !exclude.includes(m.name));
  const groups = groupModels(models, recommendations.data, taskType, query);

  return (
    <div className={className}>
      <Combobox
        value={selectedModel}
        onChange={(name: string | null) => name && onModelChange(name)}
      >
        <Combobox.Label className="block text-sm font-medium text-slate-800">{label}</Combobox.Label>
        <div className="relative mt-1">
          <Combobox.Input
            className="w-full rounded-md border border-slate-300 bg-white py-2 pl-3 pr-10 text-sm text-slate-900 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500"
            displayValue={(name: string | null) => name ?? ""}
            onChange={(event) => setQuery(event.target.value)}
            placeholder={available.isPending ? "Loading models…" : "Search models"}
          />
          <Combobox.Button className="absolute inset-y-0 right-0 flex items-center pr-2">
            <ChevronUpDownIcon className="h-5 w-5 text-slate-500" aria-hidden="true" />
          </Combobox.Button>
          <Combobox.Options
            as="div"
            className="absolute z-30 mt-1 max-h-96 w-full min-w-[28rem] overflow-auto rounded-md bg-white py-1 text-sm shadow-lg ring-1 ring-black/10"
          >
            {available.isError && (
              <p role="alert" className="px-3 py-2 text-red-700">
                Could not load models: {available.error.message}
              </p>
            )}
            {available.isSuccess && groups.length === 0 && (
              <p className="px-3 py-2 text-slate-600">No model matches “{query}”.</p>
            )}
            {groups.map((group) => (
              <div key={group.label} role="group" aria-label={group.label}>
                <div role="presentation" className="flex items-center gap-1 bg-slate-50 px-3 py-1 text-xs font-semibold uppercase tracking-wide text-slate-600">
                  {group.label.startsWith("Recommended") && <SparklesIcon className="h-4 w-4" aria-hidden="true" />}
                  {group.label}
                </div>
                {group.models.map((model) => (
                  <ModelOption
                    key={model.name}
                    model={model}
                    status={live?.[model.name]?.status ?? model.status}
                    reasons={group.label.startsWith("Recommended") ? reasonsFor(recommendations.data, model.name) : []}
                    cost={costs?.[model.name]}
                  />
                ))}
              </div>
            ))}
          </Combobox.Options>
        </div>
      </Combobox>
    </div>
  );
}

function ModelOption({
  model,
  status,
  reasons,
  cost,
}: {
  model: AvailableModel;
  status: HealthState;
  reasons: string[];
  cost: CandidateCost | undefined;
}) {
  return (
    <Combobox.Option
      value={model.name}
      className={({ active }) =>
        `relative cursor-default select-none py-2 pl-8 pr-3 ${active ? "bg-indigo-600 text-white" : "text-slate-900"}`
      }
    >
      {({ selected, active }) => (
        <>
          {selected && <CheckIcon className="absolute left-2 top-2.5 h-4 w-4" aria-hidden="true" />}
          <span className="flex items-baseline justify-between gap-2">
            <span className="font-medium">{model.name}</span>
            <span className={active ? "text-white" : DOT[status]}>● {WORD[status]}</span>
          </span>
          <span className={`block text-xs ${active ? "text-indigo-100" : "text-slate-600"}`}>
            in {formatPrice(model.input_cost_per_1k)} · out {formatPrice(model.output_cost_per_1k)} ·{" "}
            {formatTokens(model.context_window)} context
            {model.capabilities.length > 0 && ` · ${model.capabilities.join(", ")}`}
          </span>
          {cost && (
            <span className={`block text-xs ${active ? "text-indigo-100" : "text-slate-700"}`}>
              {cost.refused
                ? `this step: refused (${cost.refused})`
                : `this step: worst case ${formatMoney(cost.worst_case)}`}
            </span>
          )}
          {reasons.length > 0 && (
            <span className={`block text-xs italic ${active ? "text-indigo-100" : "text-indigo-800"}`}>
              {reasons.join("; ")}
            </span>
          )}
        </>
      )}
    </Combobox.Option>
  );
}
