import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError } from "../../api/client";
import { useApiClient } from "../../api/context";
import { useAvailableModels, useHealthCheck } from "../../api/hooks";
import { LiveModelStatus } from "../../components/LiveModelStatus";
import { ModelSelector } from "../../components/ModelSelector";
import { formatLatency, formatPrice, formatTokens } from "../../lib/format";

/** Models: the selector, live status, prices, and a health check per model. */
export function ModelsPage() {
  const models = useAvailableModels();
  const check = useHealthCheck();
  // Health checks are for admins: whoever may read /config (403 for other tokens).
  const client = useApiClient();
  const admin = useQuery({ queryKey: ["config"], queryFn: client.config, retry: false }).isSuccess;
  const [focus, setFocus] = useState<string | null>(null);
  const [taskType, setTaskType] = useState("");
  return (
    <div className="space-y-6">
      <section aria-label="Pick a model" className="grid gap-4 rounded-lg border border-slate-200 bg-white p-4 md:grid-cols-2">
        <label className="block text-sm font-medium text-slate-800">
          Task type (recommended models first)
          <input value={taskType} onChange={(e) => setTaskType(e.target.value)} placeholder="e.g. customer_inquiry" className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm" />
        </label>
        <ModelSelector selectedModel={focus} onModelChange={setFocus} taskType={taskType || null} />
      </section>
      {models.isError && <p role="alert" className="text-red-700">Could not load models: {models.error.message}</p>}
      {models.data && (
        <table className="w-full rounded-lg border border-slate-200 bg-white text-left text-sm shadow-sm">
          <caption className="p-2 text-left text-sm text-slate-700">
            Policy {models.data.policy_version}; default model {models.data.default_model}.
          </caption>
          <thead className="bg-slate-50 text-xs text-slate-600">
            <tr>
              <th scope="col" className="px-3 py-2">Model</th>
              <th scope="col">Provider</th>
              <th scope="col">Input</th>
              <th scope="col">Output</th>
              <th scope="col">Context</th>
              <th scope="col">Capabilities</th>
              <th scope="col">Status</th>
              <th scope="col"><span className="sr-only">Health check</span></th>
            </tr>
          </thead>
          <tbody>
            {models.data.models.map((m) => (
              <tr key={m.name} className={`border-t border-slate-100 ${focus === m.name ? "bg-indigo-50" : ""}`}>
                <th scope="row" className="px-3 py-2 font-medium text-slate-900">{m.name}</th>
                <td>{m.provider}</td>
                <td>{formatPrice(m.input_cost_per_1k)}</td>
                <td>{formatPrice(m.output_cost_per_1k)}</td>
                <td>{formatTokens(m.context_window)}</td>
                <td>{m.capabilities.join(", ") || "—"}</td>
                <td><LiveModelStatus model={m.name} compact /></td>
                <td className="pr-3">
                  {admin && <button
                    type="button"
                    disabled={check.isPending && check.variables === m.name}
                    onClick={() => check.mutate(m.name)}
                    className="rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-800 hover:bg-slate-100 disabled:opacity-50"
                  >
                    Check {m.name} now
                  </button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {models.data && !admin && <p className="text-sm text-slate-600">Health checks are for admins: sign in with the admin token to run them.</p>}
      <p aria-live="polite" className="text-sm text-slate-800">
        {check.isPending && `Checking ${check.variables}…`}
        {check.data && `${check.data.model}: ${check.data.status} in ${formatLatency(check.data.latency_ms)}${check.data.error ? ` (${check.data.error})` : ""}`}
        {check.error && `Health check refused: ${check.error instanceof ApiError ? check.error.message : String(check.error)}`}
      </p>
    </div>
  );
}
