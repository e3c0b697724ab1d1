import { tuneReportingSession, type Knex } from '@sitestream/db';
import type { QueryParams } from './query-params';
import { buildFactsQuery, factsCover, filterIdsQuery } from './query-facts-sql';
import { buildRollupQuery, rollupCovers } from './query-rollup-sql';
import { buildQuery, type Period, type Statement } from './query-sql';

export type MetricValue = number | null;
export interface ResultRow {
  dimensions: string[];
  metrics: MetricValue[];
  comparison?: { metrics: MetricValue[]; change: MetricValue[] };
}
export interface QueryAnswer {
  results: ResultRow[];
  meta: { time_zone: string; data_as_of: string | null; total_rows?: number; comparison_date_range?: [string, string] };
  query: Record<string, unknown>;
}

interface SiteFacts {
  time_zone: string;
  today: string;
  first_day: string | null;
  data_as_of: Date | null;
}

// An unknown site is read in UTC, as /stats does; the site's first local day is only needed for "all" — and only
// then is analytics.visits named at all: a statement locks every table it names, even in a branch it never runs.
const siteSql = (all: boolean) => `
  WITH z AS (SELECT coalesce((SELECT time_zone FROM analytics.sites WHERE site_id = $1::text), 'UTC') AS tz)
  SELECT z.tz AS time_zone, to_char(now() AT TIME ZONE z.tz, 'YYYY-MM-DD') AS today,
         ${all ? `(SELECT to_char(min(day), 'YYYY-MM-DD') FROM analytics.visits WHERE site_id = $1::text)` : 'NULL'} AS first_day,
         (SELECT min(max_received_at) FROM analytics.partition_watermarks) AS data_as_of
  FROM z`;

interface PgConnection {
  query<R>(config: { text: string; values: unknown[] }): Promise<{ rows: R[] }>;
  query(text: string): Promise<unknown>;
}

/** Runs one statement on a pooled connection (its session carries reporting's statement_timeout). */
export async function runStatement<R>(db: Knex, statement: Statement): Promise<R[]> {
  return inSession(db, async (connection) => (await connection.query<R>(statement)).rows);
}

async function inSession<T>(db: Knex, work: (connection: PgConnection) => Promise<T>): Promise<T> {
  const connection = (await db.client.acquireConnection()) as PgConnection;
  try {
    await tuneReportingSession(connection);
    return await work(connection);
  } finally {
    await db.client.releaseConnection(connection);
  }
}

/** The facts' answer: the filters' value sets, then the facts, in one read-only snapshot (strings are added concurrently). */
async function readFacts(db: Knex, q: QueryParams, site: string, tz: string, period: Period, page: { limit: number; offset: number } | undefined): Promise<Page> {
  return inSession(db, async (connection) => {
    await connection.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const ids = q.filters.length === 0 ? [] : (await connection.query<{ ids: number[][] }>(filterIdsQuery(q, site))).rows[0]!.ids;
      const [facts] = (await connection.query<Page>(buildFactsQuery(q, site, tz, period, page, ids))).rows;
      return facts!;
    } finally {
      // Read only: nothing to keep; also ends a transaction a failed statement aborted.
      await connection.query('ROLLBACK');
    }
  });
}

const DAY_MS = 86_400_000;
const addDays = (day: string, n: number) => new Date(Date.parse(day) + n * DAY_MS).toISOString().slice(0, 10);
const spanDays = (p: Period) => (Date.parse(p.to) - Date.parse(p.from)) / DAY_MS + 1;

/** Local days of the site's zone; relative names end today (the site's today). */
export function resolvePeriod(range: QueryParams['dateRange'], today: string, firstDay: string | null): Period {
  if (typeof range === 'object') return range;
  switch (range) {
    case 'day': return { from: today, to: today };
    case '7d': return { from: addDays(today, -6), to: today };
    case '30d': return { from: addDays(today, -29), to: today };
    case 'month': return { from: `${today.slice(0, 8)}01`, to: today };
    case 'year': return { from: `${today.slice(0, 5)}01-01`, to: today };
    case 'all': return { from: firstDay !== null && firstDay < today ? firstDay : today, to: today };
  }
}

interface Page {
  total_rows: string | number;
  rows: Record<string, MetricValue | string>[];
  valid?: boolean;
}

/**
 * Where an answer was read: the per-day breakdowns (rollups) or the per-day facts (facts) — every day of every
 * period still exact there — or the raw tables.
 */
export type QueryPlan = 'rollups' | 'facts' | 'raw';

/**
 * One period's page: from the per-day breakdowns when they hold the query (the fewest rows), else from the facts
 * when they do, in either case only when exact for the period; else from the raw tables.
 */
async function readPeriod(db: Knex, q: QueryParams, site: string, tz: string, period: Period, page: { limit: number; offset: number } | undefined): Promise<{ page: Page; plan: QueryPlan }> {
  if (rollupCovers(q)) {
    const [rolled] = await runStatement<Page>(db, buildRollupQuery(q, site, tz, period, page));
    if (rolled!.valid) return { page: rolled!, plan: 'rollups' };
  } else if (factsCover(q)) {
    const facts = await readFacts(db, q, site, tz, period, page);
    if (facts.valid) return { page: facts, plan: 'facts' };
  }
  const [raw] = await runStatement<Page>(db, buildQuery(q, site, tz, period, page));
  return { page: raw!, plan: 'raw' };
}

/**
 * The answer for `dataSite` (the asked site, or one that cannot exist when the key does not cover it, so that
 * such a site answers exactly like a site without data), echoing the asked query resolved.
 */
export async function runQuery(db: Knex, q: QueryParams, dataSite: string): Promise<{ answer: QueryAnswer; plan: QueryPlan }> {
  const [site] = await runStatement<SiteFacts>(db, { text: siteSql(q.dateRange === 'all'), values: [dataSite] });
  const period = resolvePeriod(q.dateRange, site!.today, site!.first_day);
  const current = await readPeriod(db, q, dataSite, site!.time_zone, period, { limit: q.limit, offset: q.offset });
  const page = current.page;
  let plan = current.plan;
  const dimsOf = (r: Record<string, unknown>) => q.dimensions.map((_, i) => r[`d${i}`] as string);
  const metricsOf = (r: Record<string, unknown>) => q.metrics.map((m) => (r[m] === null ? null : Number(r[m])));
  const results: ResultRow[] = page.rows.map((r) => ({ dimensions: dimsOf(r), metrics: metricsOf(r) }));
  const meta: QueryAnswer['meta'] = { time_zone: site!.time_zone, data_as_of: site!.data_as_of ? site!.data_as_of.toISOString() : null };
  if (q.totalRows) meta.total_rows = Number(page.total_rows);

  if (q.comparison === 'previous_period') {
    const n = spanDays(period);
    const previous = { from: addDays(period.from, -n), to: addDays(period.from, -1) };
    meta.comparison_date_range = [previous.from, previous.to];
    const prior = await readPeriod(db, q, dataSite, site!.time_zone, previous, undefined);
    const before = prior.page;
    if (prior.plan !== plan) plan = prior.plan === 'raw' || plan === 'raw' ? 'raw' : 'facts';
    // Time buckets are matched by their position in their own period (the first day with the first day, …).
    const keyOf = (dims: string[], start: string) => JSON.stringify(dims.map((v, i) => (q.dimensions[i]!.startsWith('time:') ? timePosition(q.dimensions[i]!, v, start) : v)));
    const byKey = new Map(before.rows.map((r) => [keyOf(dimsOf(r), previous.from), metricsOf(r)]));
    for (const row of results) {
      const prev = byKey.get(keyOf(row.dimensions, period.from)) ?? q.metrics.map((m) => (m === 'visitors' || m === 'pageviews' || m === 'events' || m === 'visits' ? 0 : null));
      row.comparison = { metrics: prev, change: row.metrics.map((cur, i) => change(cur, prev[i]!)) };
    }
  }
  const answer: QueryAnswer = {
    results,
    meta,
    query: {
      site_id: q.siteId,
      metrics: q.metrics,
      date_range: [period.from, period.to],
      dimensions: q.dimensions,
      filters: q.filters.map((f) => [f.op, f.dimension, f.values]),
      order_by: q.orderBy.length > 0 ? q.orderBy : [[q.metrics[0], 'desc']],
      pagination: { limit: q.limit, offset: q.offset },
      include: { total_rows: q.totalRows, ...(q.comparison ? { comparison: q.comparison } : {}) },
    },
  };
  return { answer, plan };
}

/**
 * The position of a time:* label in a period starting on local day `start`: hours, days, weeks or months since
 * the period's first bucket, counted on the local calendar (labels are local wall-clock times).
 */
export function timePosition(dimension: string, label: string, start: string): number {
  const at = (s: string) => Date.parse(`${s.replace(' ', 'T')}${s.length === 10 ? 'T00:00:00' : ''}Z`);
  switch (dimension) {
    case 'time:hour': return Math.round((at(label) - at(start)) / 3_600_000);
    case 'time:day': return Math.round((at(label) - at(start)) / DAY_MS);
    case 'time:week': {
      const monday = at(start) - ((new Date(at(start)).getUTCDay() + 6) % 7) * DAY_MS;
      return Math.round((at(label) - monday) / (7 * DAY_MS));
    }
    default: return (Number(label.slice(0, 4)) - Number(start.slice(0, 4))) * 12 + Number(label.slice(5, 7)) - Number(start.slice(5, 7));
  }
}

/** (current − previous) ÷ previous × 100, 2 decimals; null where the previous value is 0 or either is null. */
export function change(current: MetricValue, previous: MetricValue): MetricValue {
  if (current === null || previous === null || previous === 0) return null;
  return Math.round(((current - previous) / previous) * 10_000) / 100;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The same rows as CSV: a header of the dimension and metric names, then one line per row. */
export function toCsv(q: QueryParams, answer: QueryAnswer): string {
  const lines = [[...q.dimensions, ...q.metrics], ...answer.results.map((r) => [...r.dimensions, ...r.metrics])];
  return lines.map((l) => l.map(csvField).join(',')).join('\r\n') + '\r\n';
}
