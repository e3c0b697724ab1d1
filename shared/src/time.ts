/** Calendar-date helpers. A "day" is always named YYYY-MM-DD; instants are always ISO 8601 in UTC. */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses YYYY-MM-DD, refusing impossible dates (2025-02-30) that Date would silently roll over. */
export function parseCalendarDate(s: string): { year: number; month: number; day: number } | undefined {
  const m = DATE.exec(s);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (year < 1970 || d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

/** [start, end) of a UTC calendar day as ISO instants. */
export function utcDayRange(date: { year: number; month: number; day: number }): { start: string; end: string } {
  const start = Date.UTC(date.year, date.month - 1, date.day);
  return { start: new Date(start).toISOString(), end: new Date(start + 86_400_000).toISOString() };
}
