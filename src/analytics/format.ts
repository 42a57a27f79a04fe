/** Number formats shared by reports and chat replies. */

/** A fraction as a percentage with one decimal, or an en dash when undefined. */
export function formatPercent(r: number | null): string {
  return r === null ? '–' : `${(Math.round(r * 1000) / 10).toFixed(1)}%`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Dollars: cents from $1 up, tenths of a cent below (SMS costs are small). */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd >= 1 ? 2 : 4)}`;
}
