import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { ApiError, createApiClient } from "../api/client";
import { ApiProvider } from "../api/context";
import { useAvailableModels } from "../api/hooks";
import { ConfigPage } from "./pages/ConfigPage";
import { ExecutionsPage } from "./pages/ExecutionsPage";
import { ModelsPage } from "./pages/ModelsPage";
import { StepBuilderPage } from "./pages/StepBuilderPage";
import { UsagePage } from "./pages/UsagePage";
import { WhatIfPage } from "./pages/WhatIfPage";
import { PAGES, parseRoute, readToken, saveToken } from "./session";
import { TokenForm } from "./TokenForm";

function useRoute() {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return parseRoute(hash);
}

/** The console: the same components a host imports, one page each. */
export function ConsoleApp() {
  const [token, setToken] = useState(readToken);
  const queries = useQueryClient();
  const client = useMemo(() => createApiClient({ baseUrl: "", token }), [token]);
  const signIn = (next: string | null) => {
    saveToken(next);
    queries.clear();
    setToken(next);
  };
  return (
    <ApiProvider client={client}>
      <Shell token={token} onToken={signIn} />
    </ApiProvider>
  );
}

function Shell({ token, onToken }: { token: string | null; onToken: (t: string | null) => void }) {
  const { page, arg } = useRoute();
  const probe = useAvailableModels();
  const refused = probe.error instanceof ApiError && probe.error.status === 401;
  const title = PAGES.find((p) => p.page === page)?.title ?? "Models";
  useEffect(() => {
    document.title = `${title} · auterity-ai-step console`;
  }, [title]);
  return (
    <div className="min-h-screen bg-slate-50">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-6 px-4 py-3">
          <p className="font-semibold text-slate-900">auterity-ai-step console</p>
          <nav aria-label="Console pages">
            <ul className="flex flex-wrap gap-1">
              {PAGES.map((p) => (
                <li key={p.page}>
                  <a
                    href={`#/${p.page}`}
                    aria-current={p.page === page ? "page" : undefined}
                    className={`rounded-md px-3 py-1.5 text-sm font-medium ${p.page === page ? "bg-indigo-600 text-white" : "text-slate-700 hover:bg-slate-100"}`}
                  >
                    {p.title}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          {token && (
            <button type="button" onClick={() => onToken(null)} className="ml-auto text-sm text-slate-700 underline">
              Forget token
            </button>
          )}
        </div>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-6">
        <h1 className="mb-4 text-xl font-semibold text-slate-900">{title}</h1>
        {refused ? (
          <TokenForm onToken={onToken} wrong={Boolean(token)} />
        ) : page === "models" ? (
          <ModelsPage />
        ) : page === "usage" ? (
          <UsagePage />
        ) : page === "executions" ? (
          <ExecutionsPage executionId={arg} />
        ) : page === "whatif" ? (
          <WhatIfPage />
        ) : page === "builder" ? (
          <StepBuilderPage />
        ) : (
          <ConfigPage />
        )}
      </main>
    </div>
  );
}
