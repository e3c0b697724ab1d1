import { Errors, isSafeText, LIMITS, parseCalendarDate, type FieldError } from '@sitestream/shared';

export interface StatsParams {
  siteId: string;
  date: { year: number; month: number; day: number };
  dateText: string;
}

const ALLOWED = new Set(['site_id', 'date']);

/** Strict query validation: every problem names its field; unknown or repeated parameters are refused. */
export function parseStatsParams(query: Record<string, unknown>): StatsParams {
  const errors: FieldError[] = [];
  for (const key of Object.keys(query)) {
    if (!ALLOWED.has(key)) errors.push({ field: key.slice(0, 64), message: 'is not a known parameter' });
  }
  const siteId = single(query, 'site_id', errors);
  if (siteId !== undefined && (siteId.length === 0 || [...siteId].length > LIMITS.site_id || !isSafeText(siteId))) {
    errors.push({ field: 'site_id', message: `must be 1 to ${LIMITS.site_id} characters without control characters` });
  }
  const dateText = single(query, 'date', errors);
  const date = dateText === undefined ? undefined : parseCalendarDate(dateText);
  if (dateText !== undefined && !date) errors.push({ field: 'date', message: 'must be a real calendar date written YYYY-MM-DD' });
  if (errors.length > 0 || siteId === undefined || !date || dateText === undefined) throw Errors.invalidQuery(errors);
  return { siteId, date, dateText };
}

function single(query: Record<string, unknown>, name: string, errors: FieldError[]): string | undefined {
  const v = query[name];
  if (v === undefined) {
    errors.push({ field: name, message: 'is required' });
    return undefined;
  }
  if (typeof v !== 'string') {
    errors.push({ field: name, message: 'must be given once, as a plain value' });
    return undefined;
  }
  return v;
}
