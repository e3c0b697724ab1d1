import { DIRECT, NOT_SET } from '@sitestream/db';
import { isEventMetric, isVisitMetric, PROPS_PREFIX, type Filter, type QueryParams } from './query-params';

/*
 * One parameterized statement per period, read from the raw events and the visits (exact; rollups are a later
 * step). Every value is bound; the text is built only from the fixed expressions below, chosen by names that
 * query-params.ts has already checked against its lists.
 *
 * Semantics (README "Query API"): an event passes when its own event:* values and its visit's visit:* values
 * match every filter. Event metrics count the passing events in the range, grouped by the event's values, its
 * visit's values and its own time; visit metrics count the visits that start in the range and hold at least one
 * passing event, grouped by the visit's values and its start time.
 */


/** The visit's column behind each visit:* dimension; shown as NOT_SET (DIRECT for the source) when absent. */
const VISIT_COLUMNS: Record<string, string> = {
  'visit:source': 'source', 'visit:referrer': 'referrer', 'visit:utm_source': 'utm_source', 'visit:utm_medium': 'utm_medium',
  'visit:utm_campaign': 'utm_campaign', 'visit:utm_term': 'utm_term', 'visit:utm_content': 'utm_content', 'visit:browser': 'browser',
  'visit:os': 'os', 'visit:device': 'device', 'visit:country': 'country', 'visit:entry_page': 'entry_path', 'visit:exit_page': 'exit_path',
};
const EVENT_EXPRESSIONS: Record<string, string> = {
  'event:page': 'e.path::text',
  'event:name': 'e.event_type::text',
  'event:hostname': `coalesce(e.hostname::text, '${NOT_SET}')`,
};
const TIME_FORMATS: Record<string, { trunc: string; format: string }> = {
  'time:hour': { trunc: 'hour', format: 'YYYY-MM-DD HH24:00:00' },
  'time:day': { trunc: 'day', format: 'YYYY-MM-DD' },
  // date_trunc('week') is the ISO week's Monday, also when that Monday lies before the range.
  'time:week': { trunc: 'week', format: 'YYYY-MM-DD' },
  'time:month': { trunc: 'month', format: 'YYYY-MM-DD' },
};

/** Collects bound values; each add() answers its `$n`. */
export class Binds {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

/** The binds every period's statement starts with: the zone, the site and the period's first and last day. */
export function bindPeriod(site: string, tzName: string, period: Period): { binds: Binds; tz: string; siteP: string; from: string; to: string } {
  const binds = new Binds();
  return { binds, tz: binds.add(tzName, 'text'), siteP: binds.add(site, 'text'), from: binds.add(period.from, 'date'), to: binds.add(period.to, 'date') };
}

export interface Period {
  from: string;
  to: string;
}

export interface Statement {
  text: string;
  values: unknown[];
}

/** `shownAs` of a dimension over event alias e / visit alias v; `time` is the instant a time:* dimension reads. */
function dimensionSql(d: string, binds: Binds, tz: string, time: string): string {
  const visitColumn = VISIT_COLUMNS[d];
  if (visitColumn) return `coalesce(v.${visitColumn}::text, '${d === 'visit:source' ? DIRECT : NOT_SET}')`;
  const event = EVENT_EXPRESSIONS[d];
  if (event) return event;
  if (d.startsWith(PROPS_PREFIX)) return `coalesce(e.props ->> ${binds.add(d.slice(PROPS_PREFIX.length), 'text')}, '${NOT_SET}')`;
  const t = TIME_FORMATS[d];
  if (t) return `to_char(date_trunc('${t.trunc}', ${time} AT TIME ZONE ${tz}), '${t.format}')`;
  throw new Error(`no SQL for dimension ${d}`);
}

function filterSql(f: Filter, binds: Binds, tz: string): string {
  return shownFilterSql(f, dimensionSql(f.dimension, binds, tz, 'NULL'), binds);
}

/** The filter `f` on `shown`, an expression of the dimension's shown value (also a rollup row's `value`). */
export function shownFilterSql(f: Filter, shown: string, binds: Binds): string {
  // Every bound value is used by the text (an unused parameter has no type). One value (the usual case) is
  // tested directly: the EXISTS form runs a function scan per row.
  const single = f.values.length === 1;
  const values = () => binds.add(f.values, 'text[]');
  // strpos: a plain substring test, case-sensitive, with no pattern characters to escape.
  const contains = () => (single
    ? `strpos(${shown}, ${binds.add(f.values[0], 'text')}) > 0`
    : `EXISTS (SELECT 1 FROM unnest(${values()}) AS needle WHERE strpos(${shown}, needle) > 0)`);
  switch (f.op) {
    case 'is': return `${shown} = ANY (${values()})`;
    case 'is_not': return `NOT (${shown} = ANY (${values()}))`;
    case 'contains': return contains();
    case 'contains_not': return `NOT ${contains()}`;
  }
}

const isEventDim = (d: string) => d.startsWith('event:');

/**
 * The statement for one period: `total_rows` and `rows` (a JSON list in answer order, each an object with
 * d0…dn and every requested metric) of one page. `limit` undefined = every row (the comparison period).
 */
export function buildQuery(q: QueryParams, site: string, tzName: string, period: Period, page: { limit: number; offset: number } | undefined): Statement {
  const { binds, tz, siteP, from, to } = bindPeriod(site, tzName, period);
  const dims = q.dimensions.map((_, i) => `d${i}`);
  const eventMetrics = q.metrics.filter(isEventMetric);
  const visitMetrics = q.metrics.filter(isVisitMetric);
  const groupBy = dims.length > 0 ? `GROUP BY ${dims.join(', ')}` : '';
  const ctes: string[] = [];

  if (eventMetrics.length > 0) {
    const select = q.dimensions.map((d, i) => `${dimensionSql(d, binds, tz, 'e."timestamp"')} AS d${i}`);
    const where = q.filters.map((f) => filterSql(f, binds, tz));
    const start = `(${from}::timestamp AT TIME ZONE ${tz})`;
    // The visits an event of the range can belong to start in the range, or contain the range's first instant —
    // and such a visit has an event within the 30 minutes before it (the gap rule). Their earliest start day bounds
    // the visits read by their (site, day) index, so the join can hash the range's visits instead of probing the
    // visits' key once per event.
    ctes.push(`edge AS (
      SELECT least(${from}, min(v.day)) AS first_day FROM analytics.website_events e
      CROSS JOIN LATERAL (SELECT v.day FROM analytics.visits v WHERE v.site_id = e.site_id AND v.user_id = e.user_id AND v.started_at <= e."timestamp"
                          ORDER BY v.started_at DESC LIMIT 1) v
      WHERE e.site_id = ${siteP} AND e."timestamp" >= ${start} - interval '30 minutes' AND e."timestamp" < ${start})`);
    ctes.push(`ev AS (
      SELECT ${[...select, 'e.user_id', 'e.event_type'].join(', ')}
      FROM analytics.website_events e
      JOIN analytics.visits v ON v.site_id = e.site_id AND v.user_id = e.user_id AND v.started_at <= e."timestamp" AND v.ended_at >= e."timestamp"
      WHERE e.site_id = ${siteP} AND v.site_id = ${siteP} AND v.day BETWEEN (SELECT first_day FROM edge) AND ${to}
        AND e."timestamp" >= ${start} AND e."timestamp" < ((${to} + 1)::timestamp AT TIME ZONE ${tz})
        ${where.map((w) => `AND ${w}`).join(' ')})`);
    ctes.push(`ea AS (
      SELECT ${[...dims, 'count(DISTINCT user_id) AS visitors', "count(*) FILTER (WHERE event_type = 'page_view') AS pageviews", 'count(*) AS events'].join(', ')}
      FROM ev ${groupBy})`);
  }
  if (visitMetrics.length > 0) ctes.push(...visitSideCtes(q, binds, tz, siteP, from, to));
  return finishQuery(q, binds, tz, ctes, { events: eventMetrics.length > 0, visits: visitMetrics.length > 0 }, page, []);
}

/**
 * The visit side (CTEs `vi`, `va`) over the visits of the period, from the visits table — also beside the event
 * side of the per-day facts (query-facts-sql.ts), since a visit's metrics are over all of its events.
 */
export function visitSideCtes(q: QueryParams, binds: Binds, tz: string, siteP: string, from: string, to: string): string[] {
  const dims = q.dimensions.map((_, i) => `d${i}`);
  const groupBy = dims.length > 0 ? `GROUP BY ${dims.join(', ')}` : '';
  const select = q.dimensions.map((d, i) => `${dimensionSql(d, binds, tz, 'v.started_at')} AS d${i}`);
  const visitWhere = q.filters.filter((f) => !isEventDim(f.dimension)).map((f) => filterSql(f, binds, tz));
  const eventWhere = q.filters.filter((f) => isEventDim(f.dimension)).map((f) => filterSql(f, binds, tz));
  if (eventWhere.length > 0) {
    visitWhere.push(`EXISTS (SELECT 1 FROM analytics.website_events e
      WHERE e.site_id = v.site_id AND e.user_id = v.user_id AND e."timestamp" >= v.started_at AND e."timestamp" <= v.ended_at
        AND ${eventWhere.join(' AND ')})`);
  }
  return [
    `vi AS (
      SELECT ${[...select, 'v.events', 'v.pageviews', '(extract(epoch FROM v.ended_at - v.started_at) * 1000000)::bigint AS duration_us'].join(', ')}
      FROM analytics.visits v
      WHERE v.site_id = ${siteP} AND v.day BETWEEN ${from} AND ${to}
        ${visitWhere.map((w) => `AND ${w}`).join(' ')})`,
    `va AS (
      SELECT ${[...dims, 'count(*) AS visits', 'count(*) FILTER (WHERE events = 1 AND pageviews = 1) AS bounces',
        'coalesce(sum(pageviews), 0) AS views', 'coalesce(sum(duration_us), 0) AS duration_us'].join(', ')}
      FROM vi ${groupBy})`,
  ];
}

/**
 * The common end of a statement whose CTEs `ea` (event metrics: visitors, pageviews, events) and/or `va` (visit
 * metrics: visits, bounces, views, duration_us), each with columns d0…dn, are given: the answer's metrics, the
 * rows that exist in either, their order and one page. `extra` are more columns of the one answer row.
 */
export function finishQuery(
  q: QueryParams, binds: Binds, tz: string, ctes: string[], has: { events: boolean; visits: boolean },
  page: { limit: number; offset: number } | undefined, extra: string[],
): Statement {
  const dims = q.dimensions.map((_, i) => `d${i}`);
  const metricSql: Record<string, string> = {
    visitors: 'coalesce(ea.visitors, 0)',
    pageviews: 'coalesce(ea.pageviews, 0)',
    events: 'coalesce(ea.events, 0)',
    visits: 'coalesce(va.visits, 0)',
    // A rate over no visits is null (README).
    bounce_rate: 'round(va.bounces * 100.0 / nullif(va.visits, 0), 2)',
    visit_duration: 'round(va.duration_us / 1000000.0 / nullif(va.visits, 0), 2)',
    views_per_visit: 'round(va.views * 1.0 / nullif(va.visits, 0), 2)',
  };
  let fromClause: string;
  let dimSelect: string[];
  if (has.events && has.visits) {
    const on = dims.length > 0 ? dims.map((d) => `ea.${d} = va.${d}`).join(' AND ') : 'true';
    fromClause = `ea FULL JOIN va ON ${on}`;
    dimSelect = dims.map((d) => `coalesce(ea.${d}, va.${d}) AS ${d}`);
  } else {
    const only = has.events ? 'ea' : 'va';
    fromClause = only;
    dimSelect = dims.map((d) => `${only}.${d}`);
  }
  ctes = [...ctes, `combined AS (SELECT ${[...dimSelect, ...q.metrics.map((m) => `${metricSql[m]} AS ${m}`)].join(', ')} FROM ${fromClause})`];

  const order = orderSql(q);
  const pageWhere = page ? `WHERE r.rn > ${binds.add(page.offset, 'bigint')} AND r.rn <= ${binds.add(page.offset + page.limit, 'bigint')}` : '';
  ctes.push(`ranked AS (SELECT *, row_number() OVER (ORDER BY ${order}) AS rn FROM combined)`);
  // The zone is selected too, so its parameter always has a use (and a type) even when no expression needs it.
  const text = `WITH ${ctes.join(',\n')}
    SELECT ${[`${tz} AS time_zone`, '(SELECT count(*) FROM ranked) AS total_rows',
      `(SELECT coalesce(json_agg(r ORDER BY r.rn), '[]') FROM ranked r ${pageWhere}) AS rows`, ...extra].join(', ')}`;
  return { text, values: binds.values };
}

/** Asked order, then the first metric descending by default, then every dimension ascending by code point. */
function orderSql(q: QueryParams): string {
  const asked = q.orderBy.length > 0 ? q.orderBy : [[q.metrics[0]!, 'desc'] as const];
  const column = (name: string) => {
    const i = q.dimensions.indexOf(name);
    return i >= 0 ? `d${i} COLLATE "C"` : name;
  };
  // A null rate (no visits) sorts below every number.
  const items = asked.map(([name, dir]) => `${column(name)} ${dir === 'asc' ? 'ASC NULLS FIRST' : 'DESC NULLS LAST'}`);
  q.dimensions.forEach((d, i) => {
    if (!asked.some(([name]) => name === d)) items.push(`d${i} COLLATE "C" ASC`);
  });
  return items.join(', ');
}
