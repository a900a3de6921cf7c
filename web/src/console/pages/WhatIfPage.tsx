import { useState } from "react";
import { ApiError } from "../../api/client";
import { useWhatIf } from "../../api/hooks";
import { WhatIfReport } from "../../components/WhatIfReport";

/** What if: paste a candidate policy (YAML), pick a window, and see what the recorded
 * steps would have cost under it. Empty: the live policy. */
export function WhatIfPage() {
  const [policy, setPolicy] = useState("");
  const [days, setDays] = useState("7");
  const replay = useWhatIf();
  const error = replay.error;
  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <form
        aria-label="Candidate policy"
        className="space-y-3 rounded-lg border border-slate-200 bg-white p-4"
        onSubmit={(event) => {
          event.preventDefault();
          replay.mutate({ policy: policy.trim() ? policy : null, days: Math.max(1, Number.parseInt(days, 10) || 7) });
        }}
      >
        <label className="block text-sm font-medium text-slate-800">
          Candidate policy (YAML; empty: the live policy)
          <textarea
            rows={14}
            value={policy}
            onChange={(e) => setPolicy(e.target.value)}
            className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 font-mono text-xs"
          />
        </label>
        <label className="block text-sm font-medium text-slate-800">
          Days back (today included)
          <input
            type="number"
            min={1}
            max={366}
            value={days}
            onChange={(e) => setDays(e.target.value)}
            className="mt-1 block w-28 rounded-md border border-slate-300 px-3 py-2"
          />
        </label>
        <button
          type="submit"
          disabled={replay.isPending}
          className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:opacity-50"
        >
          {replay.isPending ? "Replaying…" : "Replay the ledger"}
        </button>
        {error && (
          <div role="alert" className="text-sm text-red-700">
            <p>{error.message}</p>
            {error instanceof ApiError && error.errors.length > 0 && (
              <ul className="list-disc pl-5">
                {error.errors.map((e) => (
                  <li key={e}>{e}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </form>
      <div className="lg:col-span-2">
        {replay.data ? (
          <WhatIfReport result={replay.data} />
        ) : (
          <p className="text-sm text-slate-600">
            The replay routes every recorded step again under the candidate, with the engine&apos;s own planning, and
            prices the tokens it used at the candidate&apos;s prices. No model is called.
          </p>
        )}
      </div>
    </div>
  );
}
