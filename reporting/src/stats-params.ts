import { Errors, isSafeText, LIMITS, toNfc, parseCalendarDate, STATS_QUERY_LIMITS as STATS_LIMITS, type FieldError } from '@sitestream/shared';

/** What a /stats request asks for: one local day (the seed's `date`) or a range of local days. */
export interface StatsParams {
  siteId: string;
  /** 'day' answers in the seed's shape (`date`); 'range' adds the timeseries and names `from`/`to`. */
  kind: 'day' | 'range';
  /** Inclusive local days, YYYY-MM-DD; equal for a day. */
  from: string;
  to: string;
  limit: number;
  offset: number;
}

const ALLOWED = new Set(['site_id', 'date', 'from', 'to', 'limit', 'offset']);
const DAY_MS = 86_400_000;

/** Strict query validation: every problem names its field; unknown or repeated parameters are refused. */
export function parseStatsParams(query: Record<string, unknown>): StatsParams {
  const errors: FieldError[] = [];
  for (const key of Object.keys(query)) {
    if (!ALLOWED.has(key)) errors.push({ field: key.slice(0, 64), message: 'is not a known parameter' });
  }
  // Stored site ids are NFC (shared/src/text-rules.ts): an NFD spelling names the same site.
  const siteId = toNfc(single(query, 'site_id', errors, true));
  if (siteId !== undefined && (siteId.length === 0 || [...siteId].length > LIMITS.site_id || !isSafeText(siteId))) {
    errors.push({ field: 'site_id', message: `must be 1 to ${LIMITS.site_id} characters without control characters` });
  }
  const days = parseDays(query, errors);
  const limit = integer(query, 'limit', 1, STATS_LIMITS.maxLimit, STATS_LIMITS.defaultLimit, errors);
  const offset = integer(query, 'offset', 0, STATS_LIMITS.maxOffset, 0, errors);
  if (errors.length > 0 || siteId === undefined || !days || limit === undefined || offset === undefined) {
    throw Errors.invalidQuery(errors);
  }
  return { siteId, ...days, limit, offset };
}

function parseDays(query: Record<string, unknown>, errors: FieldError[]): Pick<StatsParams, 'kind' | 'from' | 'to'> | undefined {
  const hasDate = query.date !== undefined;
  const hasRange = query.from !== undefined || query.to !== undefined;
  if (hasDate && hasRange) {
    errors.push({ field: 'date', message: 'cannot be combined with from/to' });
    return undefined;
  }
  if (!hasRange) {
    const date = calendarDate(query, 'date', errors, 'is required (or from and to)');
    return date === undefined ? undefined : { kind: 'day', from: date, to: date };
  }
  const from = calendarDate(query, 'from', errors, 'is required with to');
  const to = calendarDate(query, 'to', errors, 'is required with from');
  if (from === undefined || to === undefined) return undefined;
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (span < 1) {
    errors.push({ field: 'to', message: 'must not be before from' });
    return undefined;
  }
  if (span > STATS_LIMITS.maxRangeDays) {
    errors.push({ field: 'to', message: `must be within ${STATS_LIMITS.maxRangeDays} days of from (both included)` });
    return undefined;
  }
  return { kind: 'range', from, to };
}

function calendarDate(query: Record<string, unknown>, name: string, errors: FieldError[], missing: string): string | undefined {
  if (query[name] === undefined) {
    errors.push({ field: name, message: missing });
    return undefined;
  }
  const text = single(query, name, errors, true);
  if (text === undefined) return undefined;
  if (!parseCalendarDate(text)) {
    errors.push({ field: name, message: 'must be a real calendar date written YYYY-MM-DD' });
    return undefined;
  }
  return text;
}

function integer(query: Record<string, unknown>, name: string, min: number, max: number, fallback: number, errors: FieldError[]): number | undefined {
  if (query[name] === undefined) return fallback;
  const text = single(query, name, errors, false);
  if (text === undefined) return undefined;
  // Digits only: no sign, exponent, decimal point or spaces, which Number() would quietly accept.
  const value = /^[0-9]{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    errors.push({ field: name, message: `must be a whole number from ${min} to ${max}` });
    return undefined;
  }
  return value;
}

function single(query: Record<string, unknown>, name: string, errors: FieldError[], required: boolean): string | undefined {
  const v = query[name];
  if (v === undefined) {
    if (required) errors.push({ field: name, message: 'is required' });
    return undefined;
  }
  if (typeof v !== 'string') {
    errors.push({ field: name, message: 'must be given once, as a plain value' });
    return undefined;
  }
  return v;
}
