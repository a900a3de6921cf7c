import type { StepConfig } from "../api/types";

export type PromptSource = "prompt" | "template" | "messages";
export const PROMPT_SOURCES: PromptSource[] = ["prompt", "template", "messages"];

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A node without config_version is legacy: shown as such and kept byte for byte. */
export function isLegacy(step: StepConfig): boolean {
  return !("config_version" in step);
}

/** The prompt source the step uses (the first given one; prompt when none is). */
export function promptSource(step: StepConfig): PromptSource {
  return (
    PROMPT_SOURCES.find((key) => hasValue(step[key])) ??
    PROMPT_SOURCES.find((key) => key in step) ??
    "prompt"
  );
}

function hasValue(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : typeof value === "string" && value !== "";
}

/** The step with only `source` as its prompt source; the others' values go to `stash` so
 * switching back restores them. */
export function withSource(
  step: StepConfig,
  source: PromptSource,
  stash: Partial<Record<PromptSource, unknown>>,
): { step: StepConfig; stash: Partial<Record<PromptSource, unknown>> } {
  const next: StepConfig = { ...step };
  const kept = { ...stash };
  for (const key of PROMPT_SOURCES) {
    if (key in next && key !== source) {
      kept[key] = next[key];
      delete next[key];
    }
  }
  if (!(source in next)) {
    next[source] = kept[source] ?? (source === "messages" ? [{ role: "user", content: "" }] : "");
  }
  return { step: next, stash: kept };
}

/** The step with `key` set, or removed when `value` is undefined. */
export function setField(step: StepConfig, key: string, value: unknown): StepConfig {
  const next = { ...step };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

/** A legacy node as a version-2 step: `{name}` placeholders become `{{ name }}`. */
export function upgradeLegacy(step: StepConfig): StepConfig {
  // str.format: "{{" and "}}" are literal braces, "{name}" a placeholder.
  const jinja = (text: unknown) =>
    typeof text === "string"
      ? text.replace(/\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name?: string) =>
          name ? `{{ ${name} }}` : match[0] ?? "",
        )
      : text;
  const next: StepConfig = { config_version: 2, ...step };
  for (const key of ["prompt", "system"]) if (key in next) next[key] = jinja(next[key]);
  return next;
}

/** `list` with the item at `from` moved to `to`. */
export function moveItem<T>(list: T[], from: number, to: number): T[] {
  if (to < 0 || to >= list.length || from === to) return list;
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item as T);
  return next;
}

/** `fallbacks` plus `model`, or the reason it is refused (each model may appear once). */
export function addFallback(
  fallbacks: string[],
  model: string,
  primary: unknown,
): { list: string[] } | { error: string } {
  if (fallbacks.includes(model))
    return { error: `${model} is already in the list; each fallback model may appear once` };
  if (model === primary)
    return { error: `${model} is the preferred model already; pick another fallback` };
  return { list: [...fallbacks, model] };
}

/** `validate` lines ("field[0].x: message") by top-level field; "<step>" lines under "". */
export function errorsByField(errors: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of errors) {
    const head = line.split(":", 1)[0] ?? "";
    const field = head === "<step>" ? "" : (head.split(/[.[]/, 1)[0] ?? "");
    (out[field] ??= []).push(line);
  }
  return out;
}
