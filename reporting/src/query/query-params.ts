import { PROPS_PREFIX } from '@sitestream/db';
import { Errors, isSafeText, LIMITS, parseCalendarDate, QUERY_API_LIMITS, type FieldError } from '@sitestream/shared';

/*
 * POST /api/v2/query: the body validated into a typed query. Names are checked against fixed lists here; the SQL
 * (query-sql.ts) only ever maps those names to expressions it owns, so no input reaches the statement's text.
 */

export const EVENT_METRICS = ['visitors', 'pageviews', 'events'] as const;
export const VISIT_METRICS = ['visits', 'bounce_rate', 'visit_duration', 'views_per_visit'] as const;
export type Metric = (typeof EVENT_METRICS)[number] | (typeof VISIT_METRICS)[number];

export const EVENT_DIMENSIONS = ['event:page', 'event:name', 'event:hostname'] as const;
export const VISIT_DIMENSIONS = [
  'visit:source', 'visit:referrer', 'visit:utm_source', 'visit:utm_medium', 'visit:utm_campaign', 'visit:utm_term',
  'visit:utm_content', 'visit:browser', 'visit:os', 'visit:device', 'visit:country', 'visit:entry_page', 'visit:exit_page',
] as const;
export { PROPS_PREFIX };
export const TIME_DIMENSIONS = ['time:hour', 'time:day', 'time:week', 'time:month'] as const;
export const FILTER_OPS = ['is', 'is_not', 'contains', 'contains_not'] as const;
export const RELATIVE_RANGES = ['day', '7d', '30d', 'month', 'year', 'all'] as const;

export const QUERY_LIMITS = QUERY_API_LIMITS;

export type FilterOp = (typeof FILTER_OPS)[number];
export type RelativeRange = (typeof RELATIVE_RANGES)[number];
export interface Filter {
  op: FilterOp;
  dimension: string;
  values: string[];
}
export interface QueryParams {
  siteId: string;
  metrics: Metric[];
  /** Either two local days (both included) or a name resolved against the site's today. */
  dateRange: { from: string; to: string } | RelativeRange;
  dimensions: string[];
  filters: Filter[];
  /** As asked; empty means the default (first metric descending). */
  orderBy: [string, 'asc' | 'desc'][];
  limit: number;
  offset: number;
  totalRows: boolean;
  comparison: 'previous_period' | undefined;
}

const ALLOWED = new Set(['site_id', 'metrics', 'date_range', 'dimensions', 'filters', 'order_by', 'pagination', 'include']);
const DAY_MS = 86_400_000;
const isEventMetric = (m: string) => (EVENT_METRICS as readonly string[]).includes(m);
const isVisitMetric = (m: string) => (VISIT_METRICS as readonly string[]).includes(m);

export function isEventDimension(d: string): boolean {
  return (EVENT_DIMENSIONS as readonly string[]).includes(d) || isPropsDimension(d);
}
export function isPropsDimension(d: string): boolean {
  const key = d.slice(PROPS_PREFIX.length);
  return d.startsWith(PROPS_PREFIX) && key.length > 0 && [...key].length <= 300 && isSafeText(key);
}
export function isKnownDimension(d: string): boolean {
  return isEventDimension(d) || (VISIT_DIMENSIONS as readonly string[]).includes(d) || (TIME_DIMENSIONS as readonly string[]).includes(d);
}
export { isEventMetric, isVisitMetric };

/** Every problem of the body at once, each naming its field; visit metrics by an event:* dimension are refused. */
export function parseQueryParams(body: unknown): QueryParams {
  const errors: FieldError[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw Errors.invalidQuery([{ field: 'body', message: 'must be a JSON object' }]);
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!ALLOWED.has(key)) errors.push({ field: key.slice(0, 64), message: 'is not a known field' });

  const siteId = b.site_id;
  if (typeof siteId !== 'string' || siteId.length === 0 || [...siteId].length > LIMITS.site_id || !isSafeText(siteId)) {
    errors.push({ field: 'site_id', message: `is required: 1 to ${LIMITS.site_id} characters without control characters` });
  }
  const metrics = stringList(b.metrics, 'metrics', errors, 1, EVENT_METRICS.length + VISIT_METRICS.length);
  metrics?.forEach((m, i) => {
    if (!isEventMetric(m) && !isVisitMetric(m)) errors.push({ field: `metrics/${i}`, message: `is not a known metric (${[...EVENT_METRICS, ...VISIT_METRICS].join(', ')})` });
    else if (metrics.indexOf(m) !== i) errors.push({ field: `metrics/${i}`, message: 'is listed twice' });
  });
  const dimensions = b.dimensions === undefined ? [] : stringList(b.dimensions, 'dimensions', errors, 0, QUERY_LIMITS.maxDimensions);
  dimensions?.forEach((d, i) => {
    if (!isKnownDimension(d)) errors.push({ field: `dimensions/${i}`, message: 'is not a known dimension' });
    else if (dimensions.indexOf(d) !== i) errors.push({ field: `dimensions/${i}`, message: 'is listed twice' });
  });
  const dateRange = parseDateRange(b.date_range, errors);
  const filters = parseFilters(b.filters, errors);
  const orderBy = parseOrderBy(b.order_by, metrics ?? [], dimensions ?? [], errors);
  const { limit, offset } = parsePagination(b.pagination, errors);
  const include = parseInclude(b.include, errors);
  if (errors.length > 0) throw Errors.invalidQuery(errors);

  const visitMetric = metrics!.find(isVisitMetric);
  const eventDimension = [...dimensions!].find(isEventDimension);
  if (visitMetric && eventDimension) {
    throw Errors.unsupportedCombination([{ field: 'dimensions', message: `${eventDimension} cannot break down the visit metric ${visitMetric}: a visit has no single ${eventDimension}` }]);
  }
  return {
    siteId: siteId as string, metrics: metrics as Metric[], dateRange: dateRange!, dimensions: dimensions!, filters: filters!, orderBy: orderBy!,
    limit, offset, totalRows: include.totalRows, comparison: include.comparison,
  };
}

function stringList(v: unknown, field: string, errors: FieldError[], min: number, max: number): string[] | undefined {
  if (!Array.isArray(v) || v.length < min || v.length > max || v.some((x) => typeof x !== 'string')) {
    errors.push({ field, message: `must be a list of ${min} to ${max} names` });
    return undefined;
  }
  return v as string[];
}

function parseDateRange(v: unknown, errors: FieldError[]): QueryParams['dateRange'] | undefined {
  if (typeof v === 'string' && (RELATIVE_RANGES as readonly string[]).includes(v)) return v as RelativeRange;
  const problem = { field: 'date_range', message: `must be [from, to] (YYYY-MM-DD, both included, at most ${QUERY_LIMITS.maxRangeDays} days) or one of ${RELATIVE_RANGES.join(', ')}` };
  if (!Array.isArray(v) || v.length !== 2) return void errors.push(problem);
  const [from, to] = v as unknown[];
  for (const [i, d] of [from, to].entries()) {
    if (typeof d !== 'string' || !parseCalendarDate(d)) return void errors.push({ field: `date_range/${i}`, message: 'must be a real calendar date written YYYY-MM-DD' });
  }
  const span = (Date.parse(to as string) - Date.parse(from as string)) / DAY_MS + 1;
  if (span < 1) return void errors.push({ field: 'date_range/1', message: 'must not be before date_range/0' });
  if (span > QUERY_LIMITS.maxRangeDays) return void errors.push({ field: 'date_range', message: `must span at most ${QUERY_LIMITS.maxRangeDays} days ("all" asks for the whole history)` });
  return { from: from as string, to: to as string };
}

function parseFilters(v: unknown, errors: FieldError[]): Filter[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > QUERY_LIMITS.maxFilters) return void errors.push({ field: 'filters', message: `must be a list of at most ${QUERY_LIMITS.maxFilters} filters` });
  const out: Filter[] = [];
  v.forEach((f: unknown, i) => {
    const field = `filters/${i}`;
    if (!Array.isArray(f) || f.length !== 3) return void errors.push({ field, message: 'must be [op, dimension, values]' });
    const [op, dimension, values] = f as unknown[];
    if (typeof op !== 'string' || !(FILTER_OPS as readonly string[]).includes(op)) return void errors.push({ field: `${field}/0`, message: `is not a known op (${FILTER_OPS.join(', ')})` });
    if (typeof dimension !== 'string' || !isKnownDimension(dimension) || dimension.startsWith('time:')) {
      return void errors.push({ field: `${field}/1`, message: 'is not a dimension a filter can use (event:* or visit:*)' });
    }
    if (!Array.isArray(values) || values.length < 1 || values.length > QUERY_LIMITS.maxFilterValues || values.some((x) => typeof x !== 'string' || [...x].length > 2048 || !isSafeText(x))) {
      return void errors.push({ field: `${field}/2`, message: `must be a list of 1 to ${QUERY_LIMITS.maxFilterValues} strings (at most 2048 characters, no control characters)` });
    }
    out.push({ op: op as FilterOp, dimension, values: values as string[] });
  });
  return out;
}

function parseOrderBy(v: unknown, metrics: string[], dimensions: string[], errors: FieldError[]): QueryParams['orderBy'] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > metrics.length + dimensions.length) return void errors.push({ field: 'order_by', message: 'must be a list of [metric or dimension, "asc" | "desc"], each a requested one' });
  const out: QueryParams['orderBy'] = [];
  v.forEach((o: unknown, i) => {
    const field = `order_by/${i}`;
    if (!Array.isArray(o) || o.length !== 2 || typeof o[0] !== 'string' || (o[1] !== 'asc' && o[1] !== 'desc')) return void errors.push({ field, message: 'must be [metric or dimension, "asc" | "desc"]' });
    if (!metrics.includes(o[0]) && !dimensions.includes(o[0])) return void errors.push({ field: `${field}/0`, message: 'must be one of the requested metrics or dimensions' });
    if (out.some(([name]) => name === o[0])) return void errors.push({ field: `${field}/0`, message: 'is listed twice' });
    out.push([o[0], o[1]]);
  });
  return out;
}

function parsePagination(v: unknown, errors: FieldError[]): { limit: number; offset: number } {
  const fallback = { limit: QUERY_LIMITS.defaultLimit, offset: 0 };
  if (v === undefined) return fallback;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return errors.push({ field: 'pagination', message: 'must be an object {limit, offset}' }), fallback;
  const p = v as Record<string, unknown>;
  for (const key of Object.keys(p)) if (key !== 'limit' && key !== 'offset') errors.push({ field: `pagination/${key.slice(0, 64)}`, message: 'is not a known field' });
  const whole = (name: 'limit' | 'offset', min: number, max: number, dflt: number): number => {
    const x = p[name];
    if (x === undefined) return dflt;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) errors.push({ field: `pagination/${name}`, message: `must be a whole number from ${min} to ${max}` });
    return typeof x === 'number' ? x : dflt;
  };
  return { limit: whole('limit', 1, QUERY_LIMITS.maxLimit, fallback.limit), offset: whole('offset', 0, QUERY_LIMITS.maxOffset, 0) };
}

function parseInclude(v: unknown, errors: FieldError[]): { totalRows: boolean; comparison: 'previous_period' | undefined } {
  const out = { totalRows: false, comparison: undefined as 'previous_period' | undefined };
  if (v === undefined) return out;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return errors.push({ field: 'include', message: 'must be an object' }), out;
  const inc = v as Record<string, unknown>;
  for (const key of Object.keys(inc)) if (key !== 'total_rows' && key !== 'comparison') errors.push({ field: `include/${key.slice(0, 64)}`, message: 'is not a known field' });
  if (inc.total_rows !== undefined && typeof inc.total_rows !== 'boolean') errors.push({ field: 'include/total_rows', message: 'must be true or false' });
  if (inc.comparison !== undefined && inc.comparison !== 'previous_period') errors.push({ field: 'include/comparison', message: 'must be "previous_period"' });
  return { totalRows: inc.total_rows === true, comparison: inc.comparison === 'previous_period' ? 'previous_period' : undefined };
}
