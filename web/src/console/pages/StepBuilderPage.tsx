import { useMutation } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { useApiClient } from "../../api/context";
import type { StepConfig } from "../../api/types";
import { formatLatency, formatMoney } from "../../lib/format";
import { AIStepConfigForm, type StepValidity } from "../../components/AIStepConfigForm";

const START: StepConfig = {
  config_version: 2,
  label: "Answer customer inquiry",
  task_type: "customer_inquiry",
  prompt: "A customer wrote: {{ inquiry }}\nDraft a short, helpful reply.",
  model: "auto",
  max_tokens: 400,
};
const SAVED = "auterity-ai-step.saved-step";

/** Step builder: the form with live estimate and validation; a valid step can be saved
 * (in this browser) and copied into a workflow node. */
export function StepBuilderPage() {
  const [step, setStep] = useState<StepConfig>(() => {
    const saved = localStorage.getItem(SAVED);
    return saved ? (JSON.parse(saved) as StepConfig) : START;
  });
  const [sample, setSample] = useState('{"inquiry": "Do you have the 2024 Civic in stock?"}');
  const [validity, setValidity] = useState<StepValidity | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const onValidity = useCallback((v: StepValidity) => setValidity(v), []);
  const client = useApiClient();
  const trial = useMutation({ mutationFn: () => client.tryStep(step, input) });
  let input: Record<string, unknown> = {};
  let sampleError: string | null = null;
  try {
    input = JSON.parse(sample) as Record<string, unknown>;
  } catch (error) {
    sampleError = `Sample input is not JSON: ${(error as Error).message}`;
  }
  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <section aria-label="Step" className="rounded-lg border border-slate-200 bg-white p-4 lg:col-span-2">
        <AIStepConfigForm value={step} onChange={(next) => { setStep(next); setSaved(null); }} input={input} onValidity={onValidity} />
      </section>
      <aside className="space-y-4">
        <label className="block text-sm font-medium text-slate-800">
          Sample workflow input (JSON), for the estimate
          <textarea rows={4} value={sample} onChange={(e) => setSample(e.target.value)} className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-xs" />
        </label>
        {sampleError && <p role="alert" className="text-sm text-red-700">{sampleError}</p>}
        <p role="status" className={`text-sm ${validity?.valid ? "text-green-800" : "text-red-800"}`}>
          {validity === null ? "Validating…" : validity.valid ? `Valid${validity.legacy ? " (legacy)" : ""}` : `${validity.errors.length} problem(s) to fix`}
        </p>
        <button
          type="button"
          disabled={!validity?.valid}
          onClick={() => {
            const text = JSON.stringify(step, null, 2);
            localStorage.setItem(SAVED, text);
            setSaved(text);
          }}
          className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:opacity-50"
        >
          Save step
        </button>
        <button
          type="button"
          disabled={!validity?.valid || trial.isPending}
          onClick={() => trial.mutate()}
          className="ml-2 rounded-md border border-indigo-600 px-3 py-2 text-sm font-semibold text-indigo-700 hover:bg-indigo-50 disabled:opacity-50"
        >
          Try it on the simulator
        </button>
        {(trial.data || trial.error) && (
          <section aria-label="Try-it run" className="space-y-1 rounded-md border border-slate-200 bg-white p-3 text-sm">
            {trial.error && <p role="alert" className="text-red-700">Could not run: {trial.error.message}</p>}
            {trial.data && (
              <>
                <p className={trial.data.success ? "text-green-800" : "text-red-800"}>
                  {trial.data.success ? `${trial.data.model} answered (${formatMoney(trial.data.cost)} at policy prices):` : `Failed: ${trial.data.error}`}
                </p>
                {trial.data.response && <p className="rounded bg-slate-50 p-2 text-slate-900">{trial.data.response}</p>}
                <ol className="text-xs text-slate-700">
                  {trial.data.attempts.map((a) => (
                    <li key={a.attempt}>
                      #{a.attempt} {a.model}: {a.outcome}{a.error_type ? ` (${a.error_type})` : ""} · {formatLatency(a.latency_ms)} · {a.total_tokens} tokens
                    </li>
                  ))}
                </ol>
                <p className="text-xs text-slate-600">No provider was called; the ledger and budget are untouched.</p>
              </>
            )}
          </section>
        )}
        {saved && (
          <div>
            <p className="text-sm text-green-800">Saved. Paste this as the AI node's data:</p>
            <pre role="region" tabIndex={0} aria-label="Saved step config" className="mt-1 overflow-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100">{saved}</pre>
          </div>
        )}
      </aside>
    </div>
  );
}
