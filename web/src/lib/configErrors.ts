/** PUT /config refusals by the model they name ("overrides.<name>.field: …",
 * "models.<provider>.<name>.field: …", "<name>.field: …" or "<name>: …"); the rest
 * under "". */
export function configErrorsByModel(errors: string[], names: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const longestFirst = [...names].sort((a, b) => b.length - a.length);
  for (const line of errors) {
    const path = line.split(": ", 1)[0] ?? "";
    const name = longestFirst.find((n) => `.${path}:`.includes(`.${n}.`) || `.${path}:`.includes(`.${n}:`)) ?? "";
    (out[name] ??= []).push(line);
  }
  return out;
}

/** The editors' texts as one configuration object, or the first reason one is not JSON. */
export function parseEditors(texts: Record<string, string>): { value: Record<string, unknown> } | { error: [string, string] } {
  const value: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(texts)) {
    try {
      value[name] = JSON.parse(text);
    } catch (error) {
      return { error: [name, `${name}: not JSON (${(error as Error).message})`] };
    }
  }
  return { value };
}
