/*
 * The bench's baseline: each breakdown answered by plain SQL over the raw table, as a naive PostgreSQL
 * implementation would — no rollup, no visits table. Every event of a generated visit carries its visit's
 * context and a visitor's country never changes (dataset.ts), so grouping events by their own context columns
 * gives the visit:* answer; entry and exit pages need the visits, cut from the raw events by the 30-minute rule
 * with window functions (no generated visit crosses midnight, so cutting within the range is exact).
 */

const EVENT_COLUMN: Record<string, string> = {
  'event:page': 'path',
  'event:name': 'event_type',
  'event:hostname': "coalesce(hostname, '(not set)')",
  'event:props:author': "coalesce(props ->> 'author', '(not set)')",
  'visit:source': "coalesce(source, 'Direct / None')",
};
const CONTEXT = ['referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'browser', 'os', 'device', 'country'];
for (const c of CONTEXT) EVENT_COLUMN[`visit:${c}`] = `coalesce(${c}::text, '(not set)')`;

export const BENCH_DIMENSIONS = [...Object.keys(EVENT_COLUMN), 'visit:entry_page', 'visit:exit_page'];
/** The filtered variant: one visit:* and one event:* filter, as the issue's example. */
export const BENCH_FILTERS: [string, string, string[]][] = [['is', 'visit:country', ['DE']], ['contains', 'event:page', ['/blog']]];
const FILTER_SQL = `AND country = 'DE' AND strpos(path, '/blog') > 0`;

const RANGE = `site_id = $1 AND "timestamp" >= $2::date::timestamp AT TIME ZONE 'UTC' AND "timestamp" < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'`;
const METRICS = `count(DISTINCT user_id) AS visitors, count(*) FILTER (WHERE event_type = 'page_view') AS pageviews`;
const TOP = (sql: string) => `SELECT * FROM (${sql}) x ORDER BY visitors DESC, d COLLATE "C" LIMIT 100`;

/** visitors and pageviews by `dimension`, top 100 in the API's default order; bind [site, from, to]. */
export function naiveSql(dimension: string, filtered: boolean): string {
  const column = EVENT_COLUMN[dimension];
  if (column) {
    return TOP(`SELECT ${column} AS d, ${METRICS} FROM analytics.website_events WHERE ${RANGE} ${filtered ? FILTER_SQL : ''} GROUP BY 1`);
  }
  const page = dimension === 'visit:entry_page' ? 'ORDER BY ts, event_id' : 'ORDER BY ts DESC, event_id DESC';
  return TOP(`WITH e AS (SELECT user_id, "timestamp" AS ts, event_id, path, event_type, country FROM analytics.website_events WHERE ${RANGE}),
    cut AS (SELECT *, coalesce(ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts, event_id) > interval '30 minutes', true) AS starts FROM e),
    s AS (SELECT *, count(*) FILTER (WHERE starts) OVER (PARTITION BY user_id ORDER BY ts, event_id) AS visit_no FROM cut),
    v AS (SELECT user_id, visit_no, (array_agg(path ${page}) FILTER (WHERE event_type = 'page_view'))[1] AS page FROM s GROUP BY 1, 2)
    SELECT coalesce(v.page, '(not set)') AS d, count(DISTINCT s.user_id) AS visitors, count(*) FILTER (WHERE s.event_type = 'page_view') AS pageviews
    FROM s JOIN v USING (user_id, visit_no) WHERE true ${filtered ? FILTER_SQL.replace(/country|path/g, (c) => `s.${c}`) : ''} GROUP BY 1`);
}
