/** Money strings are exact decimals; shown with enough places for fractions of a cent. */
export function formatMoney(value: string | null | undefined): string {
  if (value === null || value === undefined) return "—";
  const amount = Number(value);
  if (amount === 0) return "$0";
  if (amount >= 1) return `$${amount.toFixed(2)}`;
  if (amount >= 0.01) return `$${amount.toFixed(4)}`;
  return `$${amount.toPrecision(3)}`;
}

/** Price per 1k tokens, as the policy states it. */
export function formatPrice(value: string | null): string {
  return value === null ? "no price" : `$${value}/1k`;
}

export function formatTokens(count: number): string {
  return count >= 1000 ? `${(count / 1000).toFixed(count >= 10_000 ? 0 : 1)}k` : String(count);
}

export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "never";
  return new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}
