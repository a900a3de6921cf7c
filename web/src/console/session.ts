/** The API token lives in sessionStorage only: entered once per tab, gone when it closes,
 * never in a URL or localStorage. */
const KEY = "auterity-ai-step.token";

export function readToken(storage: Storage = sessionStorage): string | null {
  return storage.getItem(KEY);
}

export function saveToken(token: string | null, storage: Storage = sessionStorage): void {
  if (token) storage.setItem(KEY, token);
  else storage.removeItem(KEY);
}

export type Page = "models" | "usage" | "executions" | "whatif" | "builder" | "config";
export const PAGES: { page: Page; title: string }[] = [
  { page: "models", title: "Models" },
  { page: "usage", title: "Usage" },
  { page: "executions", title: "Executions" },
  { page: "whatif", title: "What if" },
  { page: "builder", title: "Step builder" },
  { page: "config", title: "Configuration" },
];

/** The page (and an execution id) from a hash like "#/executions/exec-1". */
export function parseRoute(hash: string): { page: Page; arg: string | null } {
  const [, name, ...rest] = hash.replace(/^#/, "").split("/");
  const page = PAGES.find((p) => p.page === name)?.page ?? "models";
  return { page, arg: rest.length ? decodeURIComponent(rest.join("/")) : null };
}
