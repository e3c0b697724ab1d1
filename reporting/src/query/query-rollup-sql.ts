import { NOT_SET, queryDaysValid, ROLLED_EVENT_DIMENSIONS, ROLLED_VISIT_DIMENSIONS, spanCover, spanHolds, type Span } from '@sitestream/db';
import type { QueryParams } from './query-params';
import { isEventMetric, isPropsDimension, isVisitMetric } from './query-params';
import { bindPeriod, finishQuery, shownFilterSql, type Binds, type Period, type Statement } from './query-sql';

/*
 * The same answer as query-sql.ts from the per-day rows of shared/db/src/query-rollups.ts, for the queries they
 * hold: at most one dimension, filtered by nothing but itself, which is one the rows keep (event:props:* too)
 * or a day or coarser time bucket of the rows without a dimension (not time:hour). The statement also answers `valid`: whether every day of the period is rolled up and still exact; when it is not,
 * the caller discards the answer and asks the raw tables (one statement, one snapshot: rows and check agree).
 */

// Local days grouped into the buckets of query-sql.ts's time:* dimensions (same labels: the week's Monday).
const TIME_BUCKETS: Record<string, string> = { 'time:day': 'day', 'time:week': 'week', 'time:month': 'month' };
/** Days per run of the visitors' two-level union of the days no span covers (bench/reporting/union-runs.ts measures the choice, and spans against none). */
export const UNION_RUN_DAYS = 6;

export function rollupCovers(q: QueryParams): boolean {
  if (q.dimensions.length > 1) return false;
  const d = q.dimensions[0];
  if (d === undefined) return q.filters.length === 0;
  // A filter on the dimension grouped by keeps or drops whole rows: an event (or visit) has one value of it, and
  // passes exactly when that value does (the dashboard's "custom events": event:name is_not page_view).
  if (d in ROLLED_VISIT_DIMENSIONS || d in ROLLED_EVENT_DIMENSIONS || isPropsDimension(d)) return q.filters.every((f) => f.dimension === d);
  return d in TIME_BUCKETS && q.filters.length === 0;
}

export function buildRollupQuery(q: QueryParams, site: string, tzName: string, period: Period, page: { limit: number; offset: number } | undefined, union: { runDays?: number; spans?: boolean } = {}): Statement {
  const { runDays = UNION_RUN_DAYS, spans: readSpans = true } = union;
  const { binds, tz, siteP, from, to } = bindPeriod(site, tzName, period);
  // A time bucket groups the rows without a dimension (one per local day) by their day.
  const bucket = TIME_BUCKETS[q.dimensions[0] ?? ''];
  const dimension = binds.add(bucket ? '' : q.dimensions[0] ?? '', 'text');
  const grouped = q.dimensions.length > 0;
  const value = bucket ? `to_char(date_trunc('${bucket}', day::timestamp), 'YYYY-MM-DD')` : 'value';
  // One day's visitors are stored; several days' are the union of the days' visitor sets (exact).
  const oneDay = period.from === period.to || bucket === 'day';
  const visitors = !q.metrics.includes('visitors') ? '0' : 'sum(visitors)';
  // Read separately by each side (not one shared CTE, which would be materialized with every visitor set).
  const kept = q.filters.map((f) => ` AND ${shownFilterSql(f, 'value', binds)}`).join('');
  const stored = `analytics.query_daily WHERE site_id = ${siteP} AND dimension = ${dimension} AND day BETWEEN ${from} AND ${to}`;
  // A property key has rows only on the days it was seen: on the others every event shows '(not set)', and that
  // value's row is the day's totals (event metrics only: visit metrics by an event:* dimension are refused).
  const rows = isPropsDimension(q.dimensions[0] ?? '')
    ? `(SELECT day, value, visitors, pageviews, events, visits, bounces, views, duration_us, uids FROM ${stored}
        UNION ALL
        SELECT t.day, '${NOT_SET}', t.visitors, t.pageviews, t.events, 0, 0, 0, 0, t.uids FROM analytics.query_daily t
        WHERE t.site_id = ${siteP} AND t.dimension = '' AND t.day BETWEEN ${from} AND ${to}
          AND NOT EXISTS (SELECT 1 FROM analytics.query_daily k WHERE k.site_id = ${siteP} AND k.dimension = ${dimension} AND k.day = t.day)) r
       WHERE true${kept}`
    : `${stored}${kept}`;
  const manyDays = q.metrics.includes('visitors') && !oneDay;
  const spans = readSpans && manyDays && !bucket && !isPropsDimension(q.dimensions[0] ?? '') ? spanCover(period.from, period.to) : [];
  const eventSide = manyDays
    ? unionSide({ binds, siteP, from, to, dimension, rows, kept, value, grouped, runDays, spans, top: grouped && page && visitorsFirst(q) ? page.offset + page.limit : undefined })
    : `SELECT ${[...(grouped ? [`${value} AS d0`] : []), `coalesce(${visitors}, 0) AS visitors`, 'coalesce(sum(pageviews), 0) AS pageviews', 'coalesce(sum(events), 0) AS events'].join(', ')}
       FROM ${rows} ${grouped ? 'AND events > 0 GROUP BY d0' : ''}`;
  const ctes = [
    // A value is a row of event metrics where it has events, of visit metrics where visits start (as the raw
    // query's two sides); without a dimension, one row each, zeros included.
    `ea AS (${eventSide})`,
    `va AS (SELECT ${[...(grouped ? [`${value} AS d0`] : []), 'coalesce(sum(visits), 0) AS visits', 'coalesce(sum(bounces), 0) AS bounces', 'coalesce(sum(views), 0) AS views', 'coalesce(sum(duration_us), 0) AS duration_us'].join(', ')}
            FROM ${rows} ${grouped ? 'AND visits > 0 GROUP BY d0' : ''})`,
  ];
  const has = { events: q.metrics.some(isEventMetric), visits: q.metrics.some(isVisitMetric) };
  return finishQuery(q, binds, tz, ctes, has, page, [`${queryDaysValid(siteP, from, to, tz)} AS valid`]);
}

interface UnionParts {
  binds: Binds;
  siteP: string;
  from: string;
  to: string;
  dimension: string;
  /** The range's rows of the dimension (FROM … WHERE …, the filters applied), and the grouping value of a row. */
  rows: string;
  kept: string;
  value: string;
  grouped: boolean;
  runDays: number;
  spans: Span[];
  /** When the answer is the first `top` values by visitors, descending: only values that can be among them are unioned. */
  top?: number;
}

/** Whether the answer's first order is visitors, descending (the default when visitors is the first metric). */
function visitorsFirst(q: QueryParams): boolean {
  const [name, dir] = q.orderBy[0] ?? [q.metrics[0], 'desc'];
  return name === 'visitors' && dir === 'desc';
}

/*
 * The event side over several days: visitors are the union of the visitor sets of the spans of days inside the
 * range (query-spans.ts), built ones only, and of the days no built span covers; those days' sets in two levels —
 * runs of `runDays` days, then those — because each step of the aggregate copies its whole state: one level costs
 * ~days/2 passes over the final set, two ~√days.
 *
 * Top values by visitors: a value's visitors lie between its best day's and the sum of its days'. Values whose sum
 * is below the `top`-th largest best day cannot reach the answer's rows (at least `top` values have more), so
 * only the others are unioned; the rest keep their best day as visitors, which ranks them below every row asked
 * and changes no count (total_rows counts values). A referrer per tweet link: 5,400 of 94,000 values unioned.
 */
function unionSide(u: UnionParts): string {
  const key = u.grouped ? ['d0'] : [];
  const candidate = u.top !== undefined ? ` AND ${u.value} IN (SELECT d0 FROM candidates)` : '';
  const ctes = [
    ...(u.spans.length > 0
      ? [`built AS (SELECT c.first_day, c.days FROM unnest(${u.binds.add(u.spans.map((x) => x.firstDay), 'date[]')}, ${u.binds.add(u.spans.map((x) => x.days), 'int[]')}) c(first_day, days)
           WHERE EXISTS (SELECT 1 FROM analytics.query_span_builds b WHERE b.site_id = ${u.siteP} AND b.first_day = c.first_day AND b.days = c.days))`]
      : []),
    // The days left to read one by one: none when built spans cover the range.
    `open_days AS (SELECT g::date AS day FROM generate_series(${u.from}::timestamp, ${u.to}::timestamp, interval '1 day') g
       ${u.spans.length > 0 ? `WHERE NOT EXISTS (SELECT 1 FROM built b WHERE ${spanHolds('b', 'g::date')})` : ''})`,
    `sums AS MATERIALIZED (SELECT ${[...(u.grouped ? [`${u.value} AS d0`] : []), 'coalesce(sum(pageviews), 0) AS pageviews', 'coalesce(sum(events), 0) AS events',
       'sum(visitors) AS most', 'max(visitors) AS least'].join(', ')} FROM ${u.rows} ${u.grouped ? 'AND events > 0 GROUP BY d0' : ''})`,
    ...(u.top !== undefined
      ? [`candidates AS (SELECT d0 FROM sums WHERE most >= coalesce((SELECT least FROM sums ORDER BY least DESC OFFSET ${u.binds.add(u.top - 1, 'bigint')} LIMIT 1), 0))`]
      : []),
  ];
  const sets = [
    `SELECT ${[...key, 'analytics.uid_union(uids) AS uids'].join(', ')}
     FROM (SELECT ${[...(u.grouped ? [`${u.value} AS d0`] : []), 'uids', 'day'].join(', ')} FROM ${u.rows} ${u.grouped ? 'AND events > 0' : ''}
           AND day IN (SELECT day FROM open_days)${candidate}) x
     GROUP BY ${[...key, `(day - ${u.from}) / ${u.runDays}`].join(', ')}`,
    ...(u.spans.length > 0
      ? [`SELECT ${[...(u.grouped ? ['value AS d0'] : []), 'uids'].join(', ')} FROM analytics.query_spans s JOIN built b ON s.first_day = b.first_day AND s.days = b.days
          WHERE s.site_id = ${u.siteP} AND s.dimension = ${u.dimension}${u.kept}${candidate}`]
      : []),
  ];
  const union = `(SELECT ${[...key, 'analytics.icount(analytics.uid_union(uids)) AS visitors'].join(', ')} FROM (${sets.join(' UNION ALL ')}) u ${u.grouped ? 'GROUP BY d0' : ''}) v`;
  return `WITH ${ctes.join(',\n')}
    SELECT ${[...(u.grouped ? ['t.d0'] : []), `coalesce(v.visitors, ${u.top !== undefined ? 't.least' : '0'}, 0) AS visitors`, 't.pageviews', 't.events'].join(', ')}
    FROM sums t ${u.grouped ? `LEFT JOIN ${union} USING (d0)` : `CROSS JOIN ${union}`}`;
}
