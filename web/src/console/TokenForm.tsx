import { useState } from "react";

/** Asks once for the API token; it is kept in sessionStorage for this tab only. */
export function TokenForm({ onToken, wrong }: { onToken: (token: string) => void; wrong: boolean }) {
  const [value, setValue] = useState("");
  return (
    <form
      className="max-w-md space-y-3 rounded-lg border border-slate-200 bg-white p-4"
      onSubmit={(event) => {
        event.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
    >
      <p className="text-sm text-slate-800">
        {wrong ? "That token was refused. " : ""}Enter the API token (AUTERITY_AI_API_TOKEN, or the admin token to change configuration). It is kept in this tab's session storage only.
      </p>
      <label className="block text-sm font-medium text-slate-800">
        API token
        <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      <button type="submit" className="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700">Use token</button>
    </form>
  );
}
