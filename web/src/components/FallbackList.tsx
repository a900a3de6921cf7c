import { ArrowDownIcon, ArrowUpIcon, XMarkIcon } from "@heroicons/react/20/solid";
import { useState } from "react";
import type { CandidateCost } from "../api/types";
import { addFallback, moveItem } from "../lib/stepConfig";
import { ModelSelector } from "./ModelSelector";

export interface FallbackListProps {
  /** The fallback models, in the order they are tried. */
  value: string[];
  onChange: (models: string[]) => void;
  /** The step's preferred model (refused as a fallback). */
  primary?: unknown;
  taskType?: string | null;
  costs?: Record<string, CandidateCost>;
  /** Errors `validate` gives for fallback_models. */
  errors?: string[];
}

/** An ordered list of fallback models: add one at a time, reorder with buttons, remove;
 * a model already listed (or the preferred one) is refused inline. */
export function FallbackList({ value, onChange, primary, taskType, costs, errors = [] }: FallbackListProps) {
  const [refusal, setRefusal] = useState<string | null>(null);
  const [announce, setAnnounce] = useState("");

  const move = (from: number, to: number) => {
    onChange(moveItem(value, from, to));
    setAnnounce(`${value[from]} moved to position ${to + 1} of ${value.length}`);
  };

  return (
    <fieldset className="space-y-2">
      <legend className="text-sm font-medium text-slate-800">Fallback models (tried in this order)</legend>
      {value.length === 0 ? (
        <p className="text-sm text-slate-600">No fallback models: only the policy's fallbacks, if enabled.</p>
      ) : (
        <ol aria-label="Fallback order" className="divide-y divide-slate-200 rounded-md border border-slate-200 bg-white">
          {value.map((name, index) => (
            <li key={name} className="flex items-center gap-2 px-3 py-1.5 text-sm">
              <span className="w-6 text-slate-500">{index + 1}.</span>
              <span className="flex-1 font-medium text-slate-900">{name}</span>
              <button type="button" aria-label={`Move ${name} up`} disabled={index === 0} onClick={() => move(index, index - 1)} className="rounded p-1 text-slate-700 hover:bg-slate-100 disabled:opacity-30">
                <ArrowUpIcon className="h-4 w-4" aria-hidden="true" />
              </button>
              <button type="button" aria-label={`Move ${name} down`} disabled={index === value.length - 1} onClick={() => move(index, index + 1)} className="rounded p-1 text-slate-700 hover:bg-slate-100 disabled:opacity-30">
                <ArrowDownIcon className="h-4 w-4" aria-hidden="true" />
              </button>
              <button type="button" aria-label={`Remove ${name}`} onClick={() => onChange(value.filter((m) => m !== name))} className="rounded p-1 text-red-700 hover:bg-red-50">
                <XMarkIcon className="h-4 w-4" aria-hidden="true" />
              </button>
            </li>
          ))}
        </ol>
      )}
      <ModelSelector
        label="Add fallback model"
        selectedModel={null}
        taskType={taskType}
        costs={costs}
        onModelChange={(name) => {
          const added = addFallback(value, name, primary);
          if ("error" in added) setRefusal(added.error);
          else {
            setRefusal(null);
            onChange(added.list);
          }
        }}
      />
      {refusal && <p role="alert" className="text-sm text-red-700">{refusal}</p>}
      {errors.map((line) => (
        <p key={line} className="text-sm text-red-700">{line}</p>
      ))}
      <p aria-live="polite" className="sr-only">{announce}</p>
    </fieldset>
  );
}
