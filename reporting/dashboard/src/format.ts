/** How numbers read on the page: exact, grouped in the reader's locale. */
const grouped = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function formatNumber(v: number | null): string {
  return v === null ? '—' : grouped.format(v);
}

export function formatPercent(v: number | null): string {
  return v === null ? '—' : `${grouped.format(v)}%`;
}

/** Seconds as `45s`, `3m 07s`, `1h 02m`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/** The API's change in percent; null (nothing before to compare with) reads as such. */
export function formatChange(v: number | null): string {
  if (v === null) return 'no earlier data';
  const sign = v > 0 ? '+' : v < 0 ? '−' : '±';
  return `${sign}${grouped.format(Math.abs(v))}%`;
}

/** data_as_of in the site's zone, e.g. "Dec 2, 2026, 2:03 PM (Europe/Berlin)". */
export function formatInstant(iso: string, timeZone: string): string {
  const at = new Date(iso);
  try {
    return `${new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(at)} (${timeZone})`;
  } catch {
    return at.toISOString();
  }
}

/** A chart bucket's label: `YYYY-MM-DD` days as "Dec 2", `YYYY-MM-DD HH:00:00` hours as "14:00". */
export function bucketLabel(bucket: string): string {
  if (bucket.length > 10) return bucket.slice(11, 16);
  return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(`${bucket}T00:00:00Z`));
}
