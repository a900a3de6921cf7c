import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError } from "../../api/client";
import { useApiClient } from "../../api/context";
import type { ConfigView } from "../../api/types";
import { configErrorsByModel, parseEditors } from "../../lib/configErrors";

const box =
  "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-xs aria-[invalid=true]:border-red-600";

/** Configuration: the policy in force and the stored overrides, editable by admins, one
 * editor per model with each refusal shown under the model it names. */
export function ConfigPage() {
  const client = useApiClient();
  const config = useQuery({ queryKey: ["config"], queryFn: client.config, retry: false });
  if (config.error instanceof ApiError && config.error.status === 403)
    return <p role="alert" className="text-sm text-slate-800">Only an admin may read or change model configurations: enter the admin token (Forget token, then sign in again).</p>;
  if (config.isError) return <p role="alert" className="text-red-700">Could not load the configuration: {config.error.message}</p>;
  if (!config.data) return <p>Loading…</p>;
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <PolicyInForce view={config.data} />
      <OverridesEditor view={config.data} />
    </div>
  );
}

function PolicyInForce({ view }: { view: ConfigView }) {
  return (
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
  );
}

/** One editor text per stored model configuration. */
function editorTexts(view: ConfigView): Record<string, string> {
  return Object.fromEntries(Object.entries(view.overrides).map(([name, cfg]) => [name, JSON.stringify(cfg, null, 2)]));
}

function OverridesEditor({ view }: { view: ConfigView }) {
  const client = useApiClient();
  const queries = useQueryClient();
  const [texts, setTexts] = useState(() => editorTexts(view));
  const [newName, setNewName] = useState("");
  const [local, setLocal] = useState<[string, string] | null>(null);
  const save = useMutation({
    mutationFn: (value: Record<string, unknown>) => client.putConfig(value),
    onSuccess: (next) => {
      setTexts(editorTexts(next));
      queries.setQueryData(["config"], next);
      void queries.invalidateQueries({ queryKey: ["available"] });
    },
  });
  const refused = save.error instanceof ApiError ? save.error.errors : save.error ? [save.error.message] : [];
  const errors = configErrorsByModel(refused, Object.keys(texts));
  if (local) (errors[local[0]] ??= []).push(local[1]);
  return (
    <section aria-label="Stored overrides" className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
      <p className="text-sm text-slate-800">Stored model configurations override or extend the policy file. Name keys with api_key_env; a literal key is refused.</p>
      {Object.keys(texts).length === 0 && <p className="text-sm text-slate-600">None stored.</p>}
      {Object.entries(texts).map(([name, text]) => (
        <div key={name}>
          <div className="flex items-center justify-between">
            <label htmlFor={`override-${name}`} className="text-sm font-medium text-slate-800">{name}</label>
            <button type="button" className="text-xs text-red-700 underline" onClick={() => setTexts(Object.fromEntries(Object.entries(texts).filter(([n]) => n !== name)))}>Remove {name}</button>
          </div>
          <textarea id={`override-${name}`} rows={5} value={text} aria-invalid={Boolean(errors[name])} aria-describedby={`override-${name}-errors`} onChange={(e) => setTexts({ ...texts, [name]: e.target.value })} className={box} />
          <ul id={`override-${name}-errors`}>
            {(errors[name] ?? []).map((line) => (
              <li key={line} className="text-sm text-red-700">{line}</li>
            ))}
          </ul>
        </div>
      ))}
      <div className="flex items-end gap-2">
        <label className="text-sm font-medium text-slate-800">
          Add a model
          <input value={newName} onChange={(e) => setNewName(e.target.value)} placeholder="model name" className="mt-1 block rounded-md border border-slate-300 px-2 py-1 text-sm" />
        </label>
        <button type="button" disabled={!newName.trim() || newName.trim() in texts} onClick={() => { setTexts({ ...texts, [newName.trim()]: '{\n  "provider": "openai"\n}' }); setNewName(""); }} className="rounded-md border border-slate-300 px-2 py-1 text-sm disabled:opacity-50">Add</button>
      </div>
      <ul aria-label="Other problems">
        {(errors[""] ?? []).map((line) => (
          <li key={line} className="text-sm text-red-700">{line}</li>
        ))}
      </ul>
      <button
        type="button"
        disabled={save.isPending}
        onClick={() => {
          const parsed = parseEditors(texts);
          if ("error" in parsed) return setLocal(parsed.error);
          setLocal(null);
          save.mutate(parsed.value);
        }}
        className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:opacity-50"
      >
        Save configurations
      </button>
      {save.isSuccess && <p role="status" className="text-sm text-green-800">Saved; live for running executors.</p>}
      {save.isError && <p role="alert" className="text-sm text-red-700">Nothing was changed: fix the problems shown.</p>}
    </section>
  );
}
