import { FACT_COLUMNS, NOT_SET, PROPS_PREFIX, queryDaysValid } from '@sitestream/db';
import type { QueryParams } from './query-params';
import { isEventMetric, isPropsDimension, isVisitMetric } from './query-params';
import { bindPeriod, Binds, finishQuery, shownFilterSql, visitSideCtes, type Period, type Statement } from './query-sql';

/*
 * The same answer as query-sql.ts from the per-day facts of shared/db/src/query-facts.ts, for event metrics with
 * any filters and dimensions the facts keep (every event:* and visit:* dimension, and time:* from the local day
 * and hour); a property key's value is found through the fact's property set (query_props: one small join per
 * key). A filter becomes the set of the site's string integers whose shown value passes it — the same test, on
 * the same shown values, as the raw query's (shownFilterSql) — found first by its own statement (filterIdsQuery),
 * in the same snapshot, so that the facts statement tests each row against a bound array, which PostgreSQL hashes (a join to the strings per row cost more than the scan; measured on the bench's
 * big site). Like query-rollup-sql.ts the facts statement also answers `valid`: whether every day of the period
 * has facts that are still exact.
 */

// The grouping key of each time:* dimension over the facts' local day and hour, and how its label is printed
// (the labels of query-sql.ts: the week is its Monday, also before the range).
const TIME_KEYS: Record<string, { key: string; format: string }> = {
  'time:hour': { key: 'f.day + make_interval(hours => f.hour)', format: 'YYYY-MM-DD HH24:00:00' },
  'time:day': { key: 'f.day::timestamp', format: 'YYYY-MM-DD' },
  'time:week': { key: "date_trunc('week', f.day::timestamp)", format: 'YYYY-MM-DD' },
  'time:month': { key: "date_trunc('month', f.day::timestamp)", format: 'YYYY-MM-DD' },
};

/**
 * The facts hold the event side of the query; visit metrics beside event metrics are read from the visits table
 * in the same statement (its visit side, query-sql.ts), so a filtered dashboard panel (visitors and visits by
 * source, only Germany) reads the events from the facts. Visit metrics alone gain nothing from them.
 */
export function factsCover(q: QueryParams): boolean {
  return q.metrics.some(isEventMetric)
    && q.dimensions.every((d) => d in FACT_COLUMNS || d in TIME_KEYS || isPropsDimension(d))
    && q.filters.every((f) => f.dimension in FACT_COLUMNS || isPropsDimension(f.dimension));
}

/** One row, `ids`: for each filter the integers of the site's values that pass it (int[] each, in filter order). */
export function filterIdsQuery(q: QueryParams, site: string): Statement {
  const binds = new Binds();
  const siteP = binds.add(site, 'text');
  const sets = q.filters.map((f) =>
    `(SELECT coalesce(array_agg(s.id), '{}') FROM analytics.query_strings s WHERE s.site_id = ${siteP} AND ${shownFilterSql(f, 's.value', binds)})`);
  return { text: `SELECT json_build_array(${sets.join(', ')}) AS ids`, values: binds.values };
}

/** The facts statement; `filterIds` is filterIdsQuery's answer in the same snapshot. */
export function buildFactsQuery(q: QueryParams, site: string, tzName: string, period: Period, page: { limit: number; offset: number } | undefined, filterIds: number[][]): Statement {
  const { binds, tz, siteP, from, to } = bindPeriod(site, tzName, period);
  // A property key is the integer of its value in the fact's set, or of '(not set)' when the set lacks it (one
  // integer for both, as the raw query shows both alike); one join per key named.
  const notSet = `(SELECT s.id FROM analytics.query_strings s WHERE s.site_id = ${siteP} AND s.hash = sha256(convert_to('${NOT_SET}', 'UTF8')))`;
  const propJoins = new Map<string, string>();
  const column = (d: string) => {
    if (FACT_COLUMNS[d]) return `f.${FACT_COLUMNS[d]}`;
    let alias = propJoins.get(d);
    if (alias === undefined) propJoins.set(d, (alias = `p${propJoins.size}`));
    return `coalesce(${alias}.value, ${notSet})`;
  };
  const keys = q.dimensions.map((d, i) => `${TIME_KEYS[d] ? TIME_KEYS[d]!.key : column(d)} AS k${i}`);
  const k = q.dimensions.map((_, i) => `k${i}`);
  const passes = q.filters.map((f, i) => ` AND ${column(f.dimension)} = ANY (${binds.add(filterIds[i], 'int[]')})`);
  const joins = [...propJoins].map(([d, p]) =>
    ` LEFT JOIN analytics.query_props ${p} ON ${p}.site_id = ${siteP} AND ${p}.props = f.event_props AND ${p}.key = ${binds.add(d.slice(PROPS_PREFIX.length), 'text')}`);
  const facts = `analytics.query_facts f${joins.join('')} WHERE f.site_id = ${siteP} AND f.day BETWEEN ${from} AND ${to}${passes.join('')}`;
  const groupBy = (extra: string[]) => (k.length + extra.length > 0 ? `GROUP BY ${[...k, ...extra].join(', ')}` : '');
  // Visitors are distinct integers: first one row per (key, visitor) — an aggregate PostgreSQL can split over
  // parallel workers, which count(DISTINCT) is not — then the visitors are those rows.
  const counted = q.metrics.includes('visitors')
    ? [`per_visitor AS (SELECT ${[...keys, 'sum(f.pageviews) AS pv', 'sum(f.events) AS n'].join(', ')} FROM ${facts} ${groupBy(['f.uid'])})`,
      `grouped AS (SELECT ${[...k, 'count(*) AS visitors', 'sum(pv) AS pageviews', 'sum(n) AS events'].join(', ')} FROM per_visitor ${groupBy([])})`]
    : [`grouped AS (SELECT ${[...keys, '0 AS visitors', 'sum(f.pageviews) AS pageviews', 'sum(f.events) AS events'].join(', ')} FROM ${facts} ${groupBy([])})`];
  // Only the answer's groups are turned back into their shown values.
  const shown = q.dimensions.map((d, i) => (TIME_KEYS[d]
    ? `to_char(g.k${i}, '${TIME_KEYS[d]!.format}') AS d${i}`
    : `coalesce((SELECT s.value FROM analytics.query_strings s WHERE s.site_id = ${siteP} AND s.id = g.k${i}), '${NOT_SET}') AS d${i}`));
  const ctes = [...counted, `ea AS (SELECT ${[...shown, 'g.visitors', 'g.pageviews', 'g.events'].join(', ')} FROM grouped g)`];
  const visits = q.metrics.some(isVisitMetric);
  if (visits) ctes.push(...visitSideCtes(q, binds, tz, siteP, from, to));
  return finishQuery(q, binds, tz, ctes, { events: true, visits }, page, [`${queryDaysValid(siteP, from, to, tz, { facts: true })} AS valid`]);
}
