import type { AvailableModel, CandidateCost, Recommendations } from "../api/types";

export interface ModelGroup {
  /** Heading of the group: "Recommended for <task>" or a provider's name. */
  label: string;
  models: AvailableModel[];
}

/** The task's recommended models first (fitting ones, the API's order), then the rest by
 * provider, each filtered by `query` against name, provider and capabilities. */
export function groupModels(
  models: AvailableModel[],
  recommendations: Recommendations | undefined,
  taskType: string | null | undefined,
  query = "",
  limit = 3,
): ModelGroup[] {
  const needle = query.trim().toLowerCase();
  const matches = (m: AvailableModel) =>
    !needle ||
    [m.name, m.provider, ...m.capabilities, ...m.use_cases].some((t) =>
      t.toLowerCase().includes(needle),
    );
  const byName = new Map(models.map((m) => [m.name, m]));
  const recommended =
    taskType && recommendations
      ? recommendations.models
          .filter((entry) => entry.fits)
          .slice(0, limit)
          .map((entry) => byName.get(entry.model))
          .filter((m): m is AvailableModel => m !== undefined)
      : [];
  const taken = new Set(recommended.map((m) => m.name));
  const groups: ModelGroup[] = [];
  const shownFirst = recommended.filter(matches);
  if (shownFirst.length) groups.push({ label: `Recommended for ${taskType}`, models: shownFirst });
  const providers = new Map<string, AvailableModel[]>();
  for (const model of models) {
    if (taken.has(model.name) || !matches(model)) continue;
    providers.set(model.provider, [...(providers.get(model.provider) ?? []), model]);
  }
  for (const [provider, list] of [...providers].sort(([a], [b]) => a.localeCompare(b)))
    groups.push({ label: provider, models: list });
  return groups;
}

/** Reasons the API gives for recommending `model` for the task. */
export function reasonsFor(recommendations: Recommendations | undefined, model: string): string[] {
  return recommendations?.models.find((entry) => entry.model === model)?.reasons ?? [];
}

/** Worst-case cost per model from an estimate's `each_model` list. */
export function costsByModel(rows: CandidateCost[] | undefined): Record<string, CandidateCost> {
  return Object.fromEntries((rows ?? []).map((row) => [row.model, row]));
}
