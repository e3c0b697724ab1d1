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

/**
 * RFC 3339 date-time as both V8 and PostgreSQL read it. RFC 3339's own grammar (ajv-formats' date-time also takes
 * "+01", "+0100" and a space for the "T"), with offsets within ±15:59: PostgreSQL refuses ±16:00 and beyond
 * (22009), which JavaScript takes, so such an event would be accepted and then dead-lettered.
 */
export const RFC3339_PATTERN = '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?([Zz]|[+-](0\\d|1[0-5]):[0-5]\\d)$';

/**
 * Drops fraction digits past the microsecond. PostgreSQL keeps microseconds and *rounds* the rest
 * (23:59:59.9999995Z becomes the next day) while V8 truncates to milliseconds (the day before): truncated to six
 * digits, both read the same instant to their precision, so the same day.
 */
export function truncateToMicroseconds(timestamp: string): string {
  return timestamp.replace(/(\.\d{6})\d+/, '$1');
}
