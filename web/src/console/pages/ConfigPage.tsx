import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError } from "../../api/client";
import { useApiClient } from "../../api/context";

/** Configuration: the policy in force and the stored overrides, editable by admins;
 * each refusal is shown under the model it names. */
export function ConfigPage() {
  const client = useApiClient();
  const queries = useQueryClient();
  const config = useQuery({ queryKey: ["config"], queryFn: client.config, retry: false });
  const [draft, setDraft] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (text: string) => client.putConfig(JSON.parse(text) as Record<string, unknown>),
    onSuccess: (view) => {
      queries.setQueryData(["config"], view);
      void queries.invalidateQueries({ queryKey: ["available"] });
      setDraft(null);
    },
  });
  if (config.error instanceof ApiError && config.error.status === 403)
    return <p role="alert" className="text-sm text-slate-800">Only an admin may read or change model configurations: enter the admin token (Forget token, then sign in again).</p>;
  if (config.isError) return <p role="alert" className="text-red-700">Could not load the configuration: {config.error.message}</p>;
  if (!config.data) return <p>Loading…</p>;
  const view = config.data;
  const text = draft ?? JSON.stringify(view.overrides, null, 2);
  const errors = save.error instanceof ApiError ? save.error.errors : save.error ? [save.error.message] : [];
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <section aria-label="Policy in force" className="rounded-lg border border-slate-200 bg-white p-4">
        <p className="text-sm text-slate-800">Policy {view.policy_version} from <span className="font-mono">{view.policy_source}</span></p>
        {view.last_refused && <p role="alert" className="mt-2 text-sm text-red-700">Last change refused: {view.last_refused}</p>}
        <table className="mt-3 w-full text-left text-sm">
          <caption className="sr-only">Models and their keys</caption>
          <thead className="text-xs text-slate-600">
            <tr><th scope="col">Model</th><th scope="col">Provider</th><th scope="col">From</th><th scope="col">Key</th></tr>
          </thead>
          <tbody>
            {view.models.map((m) => (
              <tr key={m.name} className="border-t border-slate-100">
                <th scope="row" className="py-1 font-medium">{m.name}</th>
                <td>{m.provider}</td>
                <td>{m.source}</td>
                <td>{m.api_key_env ? `${m.api_key_env} ${m.api_key_set ? "(set)" : "(not set)"}` : "none needed"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-label="Stored overrides" className="space-y-2 rounded-lg border border-slate-200 bg-white p-4">
        <label className="block text-sm font-medium text-slate-800">
          Stored model configurations (JSON: model name to settings; keys by api_key_env only)
          <textarea rows={14} value={text} onChange={(e) => setDraft(e.target.value)} aria-invalid={errors.length > 0} aria-describedby="config-errors" className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-xs aria-[invalid=true]:border-red-600" />
        </label>
        <ul id="config-errors" className="space-y-1">
          {errors.map((line) => (
            <li key={line} className="text-sm text-red-700">{line}</li>
          ))}
        </ul>
        <button type="button" onClick={() => save.mutate(text)} disabled={save.isPending} className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:opacity-50">
          Save configurations
        </button>
        {save.isSuccess && <p role="status" className="text-sm text-green-800">Saved; live for running executors.</p>}
      </section>
    </div>
  );
}
