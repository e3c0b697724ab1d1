import { parseCalendarDate } from '@sitestream/shared';

/**
 * `--expires`: an RFC 3339 instant (2026-01-31T00:00:00Z), a day (2026-01-31, meaning its start in UTC), or a
 * duration from now (90m, 12h, 30d). Returns undefined for anything else, or for an instant already past.
 */
export function parseExpiry(text: string, now = Date.now()): Date | undefined {
  const duration = /^([1-9][0-9]{0,5})([mhd])$/.exec(text);
  if (duration) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'm' | 'h' | 'd'];
    return new Date(now + Number(duration[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) return undefined;
  // Date.parse rolls 2026-02-30 over into March: the calendar date is checked on its own.
  if (!parseCalendarDate(text.slice(0, 10))) return undefined;
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms) || ms <= now) return undefined;
  return new Date(ms);
}
