import type { Knex } from './connection';
import { NOT_SET, PROPS_PREFIX, ROLLED_EVENT_DIMENSIONS, ROLLED_VISIT_DIMENSIONS, shownSql } from './query-dimensions';
import { FACTS_NOT_NULL, insertFacts, insertQueryStrings } from './query-facts';
import { buildDueSpans, dropSpansOf, spanHolds } from './query-spans';
import { sweepErasedStrings } from './query-sweep';
import { lockQueryBuilds } from './site-lock';

/*
 * Per-day breakdowns for the query API (migration 008), built by a background job for closed days — never in the
 * consumer's write transaction. One row per (site, local day, dimension, shown value): the day's event metrics
 * (each event grouped by its own event:* value or its visit's visit:* value, as the raw query does), the visit
 * metrics of the visits starting that day, and the sorted set of the day's visitors (per-site integers) so that a
 * range's visitors are an exact union. Dimension '' holds the day's totals; 'event:props:<key>' one per property
 * key of the day's events (migration 012).
 *
 * A day's rows are trusted only while the consumer's exact counts (daily_event_counts) over the window of days its
 * visits reach (±30 minutes, where a late event could still join or extend one of them) sum to what they summed
 * to at build time, in the same zone, with no erasure since: the check is part of every read (queryDayValidity).
 */

/** The query API's tables of a site: per-day rows and facts, the days' validity, the strings and visitor integers. */
export const QUERY_TABLES = ['query_days', 'query_daily', 'query_facts', 'query_props', 'query_sites', 'query_span_builds', 'query_spans', 'query_strings', 'query_user_ids'] as const;

const visitValues = (alias: string) =>
  [`('', '')`, ...Object.keys(ROLLED_VISIT_DIMENSIONS).map((d) => `('${d}', ${shownSql(d, alias)})`)].join(', ');

export interface QueryRollupSummary {
  days: number;
  rows: number;
  /** Spans of days whose visitor sets were built (query-spans.ts). */
  spans: number;
  /** Values no longer named by any fact after an erasure, deleted (query-sweep.ts). */
  swept: number;
}

/**
 * Builds (or rebuilds) the rows of one site's local day. First the day's new visitors get their integers (a
 * transaction of its own, serialized per site); then, in one REPEATABLE READ snapshot, the rows and the day's
 * validity window. A visitor that arrived between the two (no integer yet) makes it start over.
 */
export async function buildQueryDay(db: Knex, siteId: string, day: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    await db.transaction(async (trx) => {
      await lockQueryBuilds(trx, siteId);
      const tz = await zoneOf(trx, siteId);
      await trx.raw(
        `INSERT INTO analytics.query_user_ids (site_id, user_hash, uid)
         SELECT :site, h, (SELECT coalesce(max(uid), 0) FROM analytics.query_user_ids WHERE site_id = :site) + row_number() OVER ()
         FROM (SELECT DISTINCT analytics.visitor_hash(k.hash_key, :site, e.user_id) AS h
               FROM analytics.website_events e, analytics.visitor_hash_key k
               WHERE e.site_id = :site AND e."timestamp" >= (:day::date)::timestamp AT TIME ZONE :tz
                 AND e."timestamp" < (:day::date + 1)::timestamp AT TIME ZONE :tz) u
         WHERE NOT EXISTS (SELECT 1 FROM analytics.query_user_ids q WHERE q.site_id = :site AND q.user_hash = u.h)`,
        { site: siteId, day, tz },
      );
      await insertQueryStrings(trx, { site: siteId }, dayEventsSql(), { site: siteId, day, tz });
    });
    const rows = await db.transaction(async (trx) => buildRows(trx, siteId, day), { isolationLevel: 'repeatable read' }).catch((error: { code?: string }) => {
      if (error.code === FACTS_NOT_NULL) return undefined;
      throw error;
    });
    if (rows !== undefined) return rows;
    if (attempt >= 3) throw new Error(`query rollups for ${siteId} ${day}: visitors or values kept arriving without an id`);
  }
}

async function zoneOf(trx: Knex.Transaction, siteId: string): Promise<string> {
  const r = await trx.raw<{ rows: { tz: string }[] }>(`SELECT coalesce((SELECT time_zone FROM analytics.sites WHERE site_id = ?), 'UTC') AS tz`, [siteId]);
  return r.rows[0]!.tz;
}

/**
 * The local day's events (bindings :site, :day, :tz), each with its visit: the last visit of its visitor starting
 * at or before it (visits never overlap), kept when it reaches the event — the raw query's join — and its local hour.
 */
function dayEventsSql(): string {
  const attributes = [...new Set(Object.values(ROLLED_VISIT_DIMENSIONS))].map((c) => `v.${c}`).join(', ');
  return `SELECT e.user_id, e.event_type, e.path, e.hostname, e.props, extract(hour FROM e."timestamp" AT TIME ZONE :tz)::smallint AS hour,
            v.started_at AS visit_start, v.ended_at AS visit_end, ${attributes}
     FROM analytics.website_events e
     JOIN LATERAL (SELECT * FROM analytics.visits v WHERE v.site_id = e.site_id AND v.user_id = e.user_id AND v.started_at <= e."timestamp"
                   ORDER BY v.started_at DESC LIMIT 1) v ON v.ended_at >= e."timestamp"
     WHERE e.site_id = :site AND e."timestamp" >= (:day::date)::timestamp AT TIME ZONE :tz AND e."timestamp" < (:day::date + 1)::timestamp AT TIME ZONE :tz`;
}

/** The rows of one day in the caller's snapshot; undefined when a visitor of the day has no integer yet. */
async function buildRows(trx: Knex.Transaction, siteId: string, day: string): Promise<number | undefined> {
  await lockQueryBuilds(trx, siteId);
  // The groupings below hash a day's events (500k for a big site): in memory rather than spilled to disk.
  await trx.raw("SET LOCAL work_mem = '256MB'");
  const tz = await zoneOf(trx, siteId);
  const p = { site: siteId, day, tz };
  await trx.raw(`CREATE TEMP TABLE qr_events ON COMMIT DROP AS ${dayEventsSql()}`, p);
  await trx.raw(
    `CREATE TEMP TABLE qr_users ON COMMIT DROP AS
     SELECT u.user_id, q.uid FROM (SELECT DISTINCT user_id FROM qr_events) u CROSS JOIN analytics.visitor_hash_key k
     LEFT JOIN analytics.query_user_ids q ON q.site_id = :site AND q.user_hash = analytics.visitor_hash(k.hash_key, :site, u.user_id)`,
    p,
  );
  // Temp tables have no statistics until analyzed: the groupings and joins below are planned from them.
  await trx.raw('ANALYZE qr_events, qr_users');
  const missing = await trx.raw<{ rows: unknown[] }>('SELECT 1 FROM qr_users WHERE uid IS NULL LIMIT 1');
  if (missing.rows.length > 0) return undefined;

  await trx.raw('DELETE FROM analytics.query_daily WHERE site_id = :site AND day = :day', p);
  await dropSpansOf(trx, siteId, day);
  const inserted = await trx.raw<{ rowCount: number }>(
    `WITH per_visit AS (
       SELECT e.user_id, e.visit_start, ${Object.values(ROLLED_VISIT_DIMENSIONS).filter((c, i, a) => a.indexOf(c) === i).map((c) => `min(e.${c}) AS ${c}`).join(', ')},
              count(*) FILTER (WHERE e.event_type = 'page_view') AS pv, count(*) AS n
       FROM qr_events e GROUP BY e.user_id, e.visit_start
     ),
     by_visit_value AS (
       SELECT d.dimension, d.value, u.uid, sum(x.pv) AS pv, sum(x.n) AS n
       FROM per_visit x JOIN qr_users u USING (user_id), LATERAL (VALUES ${visitValues('x')}) d(dimension, value)
       GROUP BY 1, 2, 3
     ),
     by_event_value AS (
       SELECT d.dimension, d.value, u.uid, count(*) FILTER (WHERE e.event_type = 'page_view') AS pv, count(*) AS n
       FROM qr_events e JOIN qr_users u USING (user_id),
            LATERAL (VALUES ${Object.keys(ROLLED_EVENT_DIMENSIONS).map((d) => `('${d}', ${shownSql(d, 'e')})`).join(', ')}) d(dimension, value)
       GROUP BY 1, 2, 3
     ),
     prop_keys AS (SELECT DISTINCT k.key FROM qr_events e, jsonb_object_keys(e.props) k(key) WHERE jsonb_typeof(e.props) = 'object'),
     -- Every event of the day by each key seen that day ('(not set)' where it lacks it); a day without a key has
     -- no rows for it, and its events all show '(not set)' (query-rollup-sql.ts reads the day's totals then).
     by_prop_value AS (
       SELECT '${PROPS_PREFIX}' || k.key AS dimension, coalesce(e.props ->> k.key, '${NOT_SET}') AS value, u.uid,
              count(*) FILTER (WHERE e.event_type = 'page_view') AS pv, count(*) AS n
       FROM qr_events e JOIN qr_users u USING (user_id) CROSS JOIN prop_keys k
       GROUP BY 1, 2, 3
     ),
     events_part AS (
       SELECT dimension, value, count(*)::int AS visitors, sum(pv) AS pageviews, sum(n) AS events, array_agg(uid ORDER BY uid) AS uids
       FROM (SELECT * FROM by_visit_value UNION ALL SELECT * FROM by_event_value UNION ALL SELECT * FROM by_prop_value) b GROUP BY 1, 2
     ),
     visits_part AS (
       SELECT d.dimension, d.value, count(*) AS visits, count(*) FILTER (WHERE v.events = 1 AND v.pageviews = 1) AS bounces,
              sum(v.pageviews) AS views, sum((extract(epoch FROM v.ended_at - v.started_at) * 1000000)::bigint) AS duration_us
       FROM analytics.visits v, LATERAL (VALUES ${visitValues('v')}) d(dimension, value)
       WHERE v.site_id = :site AND v.day = :day::date
       GROUP BY 1, 2
     )
     INSERT INTO analytics.query_daily (site_id, day, dimension, value, visitors, pageviews, events, visits, bounces, views, duration_us, uids)
     SELECT :site, :day::date, coalesce(a.dimension, c.dimension), coalesce(a.value, c.value), coalesce(a.visitors, 0), coalesce(a.pageviews, 0),
            coalesce(a.events, 0), coalesce(c.visits, 0), coalesce(c.bounces, 0), coalesce(c.views, 0), coalesce(c.duration_us, 0), coalesce(a.uids, '{}')
     FROM events_part a FULL JOIN visits_part c ON c.dimension = a.dimension AND c.value = a.value`,
    p,
  );
  const facts = await insertFacts(trx, p);
  // The days a late event would have to land on to change any of these visits (or join one): ±30 minutes.
  await trx.raw(
    `INSERT INTO analytics.query_days (site_id, day, time_zone, built_at, window_from, window_to, window_events, facts)
     SELECT :site, :day::date, :tz, now(), w.f, w.t,
            (SELECT coalesce(sum(events), 0) FROM analytics.daily_event_counts c WHERE c.site_id = :site AND c.day BETWEEN w.f AND w.t), true
     FROM (SELECT least(:day::date, ((min(s) - interval '30 minutes') AT TIME ZONE :tz)::date) AS f,
                  greatest(:day::date, ((max(e) + interval '30 minutes') AT TIME ZONE :tz)::date) AS t
           FROM (SELECT visit_start AS s, visit_end AS e FROM qr_events
                 UNION ALL SELECT started_at, ended_at FROM analytics.visits WHERE site_id = :site AND day = :day::date) x) w
     ON CONFLICT (site_id, day) DO UPDATE SET time_zone = excluded.time_zone, built_at = excluded.built_at,
       window_from = excluded.window_from, window_to = excluded.window_to, window_events = excluded.window_events, facts = true`,
    p,
  );
  return inserted.rowCount + facts;
}

/**
 * SQL for "every local day from..to of site is rolled up (with its facts when `needs.facts`) and still exact in zone tz, or has no event at all and no
 * rows left over (such a day adds nothing)"; its arguments are bound expressions ($n) of the caller's statement.
 */
export function queryDaysValid(site: string, from: string, to: string, tz: string, needs: { facts?: boolean } = {}): string {
  return `(SELECT coalesce(bool_and(
       EXISTS (SELECT 1 FROM analytics.query_days qd
               WHERE qd.site_id = ${site} AND qd.day = g.day AND qd.time_zone = ${tz}${needs.facts ? ' AND qd.facts' : ''}
                 AND NOT EXISTS (SELECT 1 FROM analytics.erasures x WHERE x.site_id = ${site} AND x.erased_at > qd.built_at - interval '5 minutes')
                 AND qd.window_events = (SELECT coalesce(sum(c.events), 0) FROM analytics.daily_event_counts c
                                         WHERE c.site_id = ${site} AND c.day BETWEEN qd.window_from AND qd.window_to))
       OR (NOT EXISTS (SELECT 1 FROM analytics.daily_event_counts c WHERE c.site_id = ${site} AND c.day = g.day AND c.events > 0)
           AND NOT EXISTS (SELECT 1 FROM analytics.query_days qd WHERE qd.site_id = ${site} AND qd.day = g.day))), true)
     FROM (SELECT d::date AS day FROM generate_series(${from}::timestamp, ${to}::timestamp, interval '1 day') d) g)`;
}

/**
 * The job's step: builds up to `maxDays` closed local days (before the site's today) that have events and no
 * valid rows, oldest first; `siteId` limits it to one site. Answers what it built.
 */
export async function buildStaleQueryDays(db: Knex, options: { siteId?: string; maxDays?: number } = {}): Promise<QueryRollupSummary> {
  const stale = await db.raw<{ rows: { site_id: string; day: string }[] }>(
    `SELECT c.site_id, to_char(c.day, 'YYYY-MM-DD') AS day
     FROM (SELECT DISTINCT site_id, day FROM analytics.daily_event_counts WHERE (:site::text IS NULL OR site_id = :site::text)) c
     LEFT JOIN analytics.sites s ON s.site_id = c.site_id
     LEFT JOIN analytics.query_days qd ON qd.site_id = c.site_id AND qd.day = c.day
     WHERE c.day < (now() AT TIME ZONE coalesce(s.time_zone, 'UTC'))::date
       AND (qd.site_id IS NULL OR NOT qd.facts OR qd.time_zone <> coalesce(s.time_zone, 'UTC') OR qd.window_events <>
            (SELECT coalesce(sum(x.events), 0) FROM analytics.daily_event_counts x WHERE x.site_id = c.site_id AND x.day BETWEEN qd.window_from AND qd.window_to)
            OR EXISTS (SELECT 1 FROM analytics.erasures e WHERE e.site_id = c.site_id AND e.erased_at > qd.built_at - interval '5 minutes'))
     ORDER BY c.day, c.site_id LIMIT :limit::int`,
    { site: options.siteId ?? null, limit: options.maxDays ?? 1_000_000 },
  );
  // Rows of days whose events are gone (retention, a deleted site) are removed: such a day reads raw until then.
  await db.raw(
    `WITH gone AS (DELETE FROM analytics.query_days qd WHERE (:site::text IS NULL OR qd.site_id = :site::text)
       AND NOT EXISTS (SELECT 1 FROM analytics.daily_event_counts c WHERE c.site_id = qd.site_id AND c.day = qd.day AND c.events > 0)
       RETURNING site_id, day),
     daily AS (DELETE FROM analytics.query_daily d USING gone WHERE d.site_id = gone.site_id AND d.day = gone.day),
     spans AS (DELETE FROM analytics.query_span_builds b USING gone WHERE b.site_id = gone.site_id AND ${spanHolds('b', 'gone.day')} RETURNING b.*),
     span_rows AS (DELETE FROM analytics.query_spans s USING spans
                   WHERE s.site_id = spans.site_id AND s.first_day = spans.first_day AND s.days = spans.days)
     DELETE FROM analytics.query_facts f USING gone WHERE f.site_id = gone.site_id AND f.day = gone.day`,
    { site: options.siteId ?? null },
  );
  const summary = { days: 0, rows: 0, spans: 0, swept: 0 };
  for (const { site_id, day } of stale.rows) {
    summary.rows += await buildQueryDay(db, site_id, day);
    summary.days++;
  }
  summary.spans = await buildDueSpans(db, options.siteId);
  summary.swept = await sweepErasedStrings(db, options.siteId);
  return summary;
}
