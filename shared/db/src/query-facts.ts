import type { Knex } from './connection';
import { NOT_SET, ROLLED_EVENT_DIMENSIONS, ROLLED_VISIT_DIMENSIONS, shownSql } from './query-dimensions';

/*
 * The query API's per-day facts (migration 010), built beside the day's query_daily rows by query-rollups.ts: the
 * day's events grouped by local hour, visitor and the shown value of every event:* and visit:* dimension the rows
 * keep, and by the event's property set (event_props, migration 012), each value a per-site integer of
 * query_strings. They answer event metrics with any filters and up to three dimensions of those kinds and of
 * event:props:* (reporting/src/query/query-facts-sql.ts) without reading the raw events.
 */

/** The facts column of each dimension: its name with `_` for `:`. */
export const FACT_COLUMNS: Record<string, string> = Object.fromEntries(
  [...Object.keys(ROLLED_EVENT_DIMENSIONS), ...Object.keys(ROLLED_VISIT_DIMENSIONS)].map((d) => [d, d.replace(':', '_')]),
);
const DIMENSIONS = Object.keys(FACT_COLUMNS);

// An event's property set as a string of its own (jsonb's canonical text, one per set), NULL when it has none.
const propsSetSql = (alias: string) => `CASE WHEN jsonb_typeof(${alias}.props) = 'object' AND ${alias}.props <> '{}' THEN ${alias}.props::text END`;

/**
 * Gives every shown value of the day's events (`dayEvents`: the columns of qr_events) a per-site integer — the
 * values of the dimensions, of every property, each property set, and '(not set)' (what a set without a key shows)
 * — and lists each new property set's keys with their values (query_props). Runs in the transaction that also
 * numbers the day's visitors, under the site's lock, so that the snapshot that then builds the facts sees them all;
 * a value that arrives between the two fails that build, which starts over (FACTS_NOT_NULL).
 */
export async function insertQueryStrings(trx: Knex.Transaction, p: { site: string }, dayEvents: string, bindings: Record<string, unknown>): Promise<void> {
  // Read once for both statements below (the day's events joined to their visits).
  await trx.raw(`CREATE TEMP TABLE qs_events ON COMMIT DROP AS ${dayEvents}`, bindings);
  // One DISTINCT per column: a few thousand values each, instead of one over every (event, dimension) pair.
  const values = [
    ...DIMENSIONS.map((d) => `SELECT DISTINCT ${shownSql(d, 'j')} AS value FROM qs_events j`),
    "SELECT DISTINCT kv.value FROM qs_events j, jsonb_each_text(j.props) kv WHERE jsonb_typeof(j.props) = 'object' AND kv.value IS NOT NULL",
    `SELECT DISTINCT ${propsSetSql('j')} FROM qs_events j WHERE ${propsSetSql('j')} IS NOT NULL`,
    `SELECT '${NOT_SET}'`,
  ].join(' UNION ');
  await trx.raw(
    `WITH v AS (${values})
     INSERT INTO analytics.query_strings (site_id, id, value, hash)
     SELECT :site, (SELECT coalesce(max(id), 0) FROM analytics.query_strings WHERE site_id = :site) + row_number() OVER (), v.value, v.hash
     FROM (SELECT value, sha256(convert_to(value, 'UTF8')) AS hash FROM v) v
     WHERE NOT EXISTS (SELECT 1 FROM analytics.query_strings s WHERE s.site_id = :site AND s.hash = v.hash)`,
    { site: p.site },
  );
  await trx.raw(
    `INSERT INTO analytics.query_props (site_id, props, key, value)
     SELECT :site, ps.id, kv.key, vs.id
     FROM (SELECT DISTINCT ${propsSetSql('j')} AS t FROM qs_events j) x
     JOIN analytics.query_strings ps ON ps.site_id = :site AND ps.hash = sha256(convert_to(x.t, 'UTF8'))
     CROSS JOIN LATERAL jsonb_each_text(x.t::jsonb) kv
     JOIN analytics.query_strings vs ON vs.site_id = :site AND vs.hash = sha256(convert_to(kv.value, 'UTF8'))
     ON CONFLICT DO NOTHING`,
    { site: p.site },
  );
}

/** SQLSTATE of the facts insert when a value has no integer yet (a NOT NULL column): the build starts over. */
export const FACTS_NOT_NULL = '23502';

/**
 * The facts of one day from the caller's temp tables qr_events (the day's events with their visit and local hour)
 * and qr_users (visitor → integer, all present), in the caller's snapshot. Answers the rows written.
 */
export async function insertFacts(trx: Knex.Transaction, p: { site: string; day: string }): Promise<number> {
  await trx.raw('CREATE TEMP TABLE qr_strings ON COMMIT DROP AS SELECT id, value FROM analytics.query_strings WHERE site_id = :site', p);
  // Without statistics the planner takes each of the 16 joins below to multiply the rows (seconds of hashing
  // even for a site with 50 events a day); analyzed, it knows each value has one integer.
  await trx.raw('ANALYZE qr_strings');
  await trx.raw('DELETE FROM analytics.query_facts WHERE site_id = :site AND day = :day::date', p);
  const columns = DIMENSIONS.map((d) => FACT_COLUMNS[d]!);
  // Grouped by the shown strings first (fewer rows to look up), then each string to its integer. A string
  // without one leaves a NULL in a NOT NULL column: the insert fails rather than dropping or merging events.
  // Written in country order: a country filter's facts of the day then lie on few pages (migration 014's index).
  const inserted = await trx.raw<{ rowCount: number }>(
    `INSERT INTO analytics.query_facts (site_id, day, hour, uid, events, pageviews, ${columns.join(', ')}, event_props)
     SELECT :site, :day::date, g.hour, u.uid, g.n, g.pv, ${columns.map((_, i) => `s${i}.id`).join(', ')}, CASE WHEN g.props IS NULL THEN 0 ELSE sp.id END
     FROM (SELECT e.hour, e.user_id, ${propsSetSql('e')} AS props, ${DIMENSIONS.map((d, i) => `${shownSql(d, 'e')} AS v${i}`).join(', ')},
                  count(*) AS n, count(*) FILTER (WHERE e.event_type = 'page_view') AS pv
           FROM qr_events e GROUP BY ${DIMENSIONS.map((_, i) => i + 4).concat([1, 2, 3]).join(', ')}) g
     JOIN qr_users u USING (user_id)
     ${columns.map((_, i) => `LEFT JOIN qr_strings s${i} ON s${i}.value = g.v${i}`).join('\n     ')}
     LEFT JOIN qr_strings sp ON sp.value = g.props
     ORDER BY s${DIMENSIONS.indexOf('visit:country')}.id`,
    p,
  );
  return inserted.rowCount;
}
