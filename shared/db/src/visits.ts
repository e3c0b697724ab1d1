import type { Knex } from './connection';
import { RETAINED_FROM, type InsertedEvent } from './rollups';
import { STORED_ATTRIBUTES, VISIT_ATTRIBUTES } from './visit-attributes';

/**
 * Visits (definitions in the README): a visitor's run of events in which no two consecutive ones are more than
 * 30 minutes apart. Events are ordered by (timestamp, event_id): among events at the same instant the smaller
 * event_id comes first, which makes "first event" (the visit's attributes) and the entry and exit page unique.
 *
 * A visit is a mergeable summary (start, end, counts, entry, exit, first event's attributes), so the consumer
 * keeps visits exact whatever order events arrive in: for each event it inserted, it takes the stored visits
 * within 30 minutes of it, unites them with the new events as point intervals, cuts the union into islands
 * (a new island where a start lies more than 30 minutes after the furthest end before it), replaces the old
 * visits by the islands and moves the day sums by the difference — one statement, in the raw rows' transaction.
 * A rebuild runs the same statement over every raw event of a site after clearing its visits.
 */

/** Every visit table: what a recompute of a site's visits clears and refills. */
export const VISIT_TABLES = ['visits', 'daily_visits'] as const;

/** A gap of exactly this much stays inside a visit; a microsecond more starts a new one. */
const VISIT_GAP = `interval '30 minutes'`;

const attributeList = VISIT_ATTRIBUTES.join(', ');
const stored = (a: string) => (STORED_ATTRIBUTES as readonly string[]).includes(a);

/**
 * What visits add to their day's sums (daily_visits), the one definition of a bounce and a duration there: over
 * `rows` (site_id, day, n, events, pageviews, started_at, ended_at), n = 1 for a visit counted in, −1 for one
 * taken out.
 */
const daySums = (rows: string) => `
  SELECT site_id, day, sum(n) AS visits, sum(n * (events = 1 AND pageviews = 1)::int) AS bounces, sum(n * pageviews) AS pageviews,
         sum(n * (extract(epoch FROM ended_at - started_at) * 1000000)::bigint) AS duration_us
  FROM (${rows}) d GROUP BY 1, 2`;
/** The SET list that adds the sums of `delta` (a row of daySums) to the day row `r`. */
const addDaySums = (delta: string) => ['visits', 'bounces', 'pageviews', 'duration_us'].map((c) => `${c} = r.${c} + ${delta}.${c}`).join(', ');

/**
 * The visit merge as CTEs (named visit_batch … summed) to place after other CTEs of one statement, and the
 * expression (over them) that gives the number of events the visits took in net: it must equal the batch's size.
 * The batch's columns: site_id, user_id, ts, event_id, event_type, path, then every VISIT_ATTRIBUTES.
 */
export function visitMergeCtes(batch: string): { ctes: string; added: string } {
  const prefixed = (p: string) => VISIT_ATTRIBUTES.map((a) => `${p}.${a}`).join(', ');
  const ctes = `
visit_batch AS MATERIALIZED (${batch}),
visit_zones AS (SELECT site_id, time_zone FROM analytics.sites WHERE site_id IN (SELECT DISTINCT site_id FROM visit_batch)),
-- At most two stored visits lie within 30 minutes of an instant: the last one starting before it (plus 30 min)
-- and the one before that. The (site_id, user_id, started_at) key finds them. No row lock: only the holder of
-- the site's row lock writes its visits (site-lock.ts).
old AS MATERIALIZED (
  SELECT DISTINCT ON (v.site_id, v.user_id, v.started_at) v.*
  FROM visit_batch e CROSS JOIN LATERAL (
    SELECT * FROM analytics.visits v
    WHERE v.site_id = e.site_id AND v.user_id = e.user_id AND v.started_at <= e.ts + ${VISIT_GAP}
    ORDER BY v.started_at DESC LIMIT 2) v
  WHERE v.ended_at >= e.ts - ${VISIT_GAP}
  ORDER BY v.site_id, v.user_id, v.started_at
),
units AS (
  SELECT site_id, user_id, started_at AS s, first_event_id AS s_id, ended_at AS e, events, pageviews,
         entry_at, entry_event_id, entry_path, exit_at, exit_event_id, exit_path, ${attributeList}, true AS stored
  FROM old
  UNION ALL
  SELECT site_id, user_id, ts, event_id, ts, 1, (event_type = 'page_view')::int,
         CASE WHEN event_type = 'page_view' THEN ts END, CASE WHEN event_type = 'page_view' THEN event_id END,
         CASE WHEN event_type = 'page_view' THEN path END,
         CASE WHEN event_type = 'page_view' THEN ts END, CASE WHEN event_type = 'page_view' THEN event_id END,
         CASE WHEN event_type = 'page_view' THEN path END, ${attributeList}, false
  FROM visit_batch
),
reached AS (
  SELECT *, max(e) OVER (PARTITION BY site_id, user_id ORDER BY s, s_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
  FROM units
),
-- island: the unit's island, counted per visitor; island_start: its first instant (island starts only grow along
-- the order, so the running maximum of the starts so far is the current island's). Both in one window pass.
numbered AS MATERIALIZED (
  SELECT *, count(*) FILTER (WHERE reach IS NULL OR s - reach > ${VISIT_GAP})
              OVER (PARTITION BY site_id, user_id ORDER BY s, s_id ROWS UNBOUNDED PRECEDING) AS island,
            max(s) FILTER (WHERE reach IS NULL OR s - reach > ${VISIT_GAP})
              OVER (PARTITION BY site_id, user_id ORDER BY s, s_id ROWS UNBOUNDED PRECEDING) AS island_start
  FROM reached
),
-- Each island summarized by window functions over its units (a sort each, no join between the parts: joins of
-- CTE results planned as nested loops made big batches quadratic).
summarized AS MATERIALIZED (
  SELECT DISTINCT ON (site_id, user_id, island) site_id, user_id, island,
         min(s) OVER whole AS started_at, first_value(s_id) OVER firsts AS first_event_id, max(e) OVER whole AS ended_at,
         (sum(events) OVER whole)::int AS events, (sum(pageviews) OVER whole)::int AS pageviews,
         first_value(entry_at) OVER entries AS entry_at, first_value(entry_event_id) OVER entries AS entry_event_id,
         first_value(entry_path) OVER entries AS entry_path,
         first_value(exit_at) OVER exits AS exit_at, first_value(exit_event_id) OVER exits AS exit_event_id,
         first_value(exit_path) OVER exits AS exit_path,
         ${VISIT_ATTRIBUTES.map((a) => `first_value(${a}) OVER firsts AS ${a}`).join(', ')}
  FROM numbered
  WINDOW whole AS (PARTITION BY site_id, user_id, island),
         firsts AS (PARTITION BY site_id, user_id, island ORDER BY s, s_id),
         entries AS (PARTITION BY site_id, user_id, island ORDER BY entry_at NULLS LAST, entry_event_id),
         exits AS (PARTITION BY site_id, user_id, island ORDER BY exit_at DESC NULLS LAST, exit_event_id DESC)
  ORDER BY site_id, user_id, island
),
islands AS MATERIALIZED (
  SELECT s.site_id, s.user_id, s.started_at, s.first_event_id, s.ended_at, (s.started_at AT TIME ZONE z.time_zone)::date AS day,
         s.events, s.pageviews, s.entry_at, s.entry_event_id, s.entry_path, s.exit_at, s.exit_event_id, s.exit_path,
         ${prefixed('s')}
  FROM summarized s JOIN visit_zones z USING (site_id)
),
-- An island that starts where a stored visit started replaces it in place (upsert); the other stored visits of
-- the island go: those whose start is not the island's. Found from the units, so the delete probes the key once
-- per stored visit (an anti-join against the islands was planned as a nested loop: stored visits × islands).
-- The two statements touch disjoint rows, so their order inside this statement does not matter.
dropped AS (
  DELETE FROM analytics.visits v USING numbered n
  WHERE n.stored AND n.s <> n.island_start
    AND v.site_id = n.site_id AND v.user_id = n.user_id AND v.started_at = n.s
),
written AS (
  INSERT INTO analytics.visits AS v (site_id, user_id, started_at, first_event_id, ended_at, day, events, pageviews,
    entry_at, entry_event_id, entry_path, exit_at, exit_event_id, exit_path, ${attributeList})
  SELECT site_id, user_id, started_at, first_event_id, ended_at, day, events, pageviews,
         entry_at, entry_event_id, entry_path, exit_at, exit_event_id, exit_path, ${attributeList}
  -- In day order: a recompute of a whole site (rebuild, zone change) otherwise lays its visits out by visitor, and
  -- a day's visits are then spread over every page of the site's (BENCHMARKS.md, "filtered panels").
  FROM islands ORDER BY site_id, day, user_id, started_at
  ON CONFLICT (site_id, user_id, started_at) DO UPDATE SET
    first_event_id = excluded.first_event_id, ended_at = excluded.ended_at, day = excluded.day,
    events = excluded.events, pageviews = excluded.pageviews,
    entry_at = excluded.entry_at, entry_event_id = excluded.entry_event_id, entry_path = excluded.entry_path,
    exit_at = excluded.exit_at, exit_event_id = excluded.exit_event_id, exit_path = excluded.exit_path,
    ${VISIT_ATTRIBUTES.map((a) => `${a} = excluded.${a}`).join(', ')}
),
deltas AS (${daySums(`SELECT site_id, day, 1 AS n, events, pageviews, started_at, ended_at FROM islands
        UNION ALL
        SELECT site_id, day, -1, events, pageviews, started_at, ended_at FROM old`)}),
summed AS (
  INSERT INTO analytics.daily_visits AS r (site_id, day, visits, bounces, pageviews, duration_us)
  SELECT * FROM deltas WHERE (visits, bounces, pageviews, duration_us) <> (0, 0, 0, 0) ORDER BY 1, 2
  ON CONFLICT (site_id, day) DO UPDATE SET ${addDaySums('excluded')}
)`;
  return { ctes, added: `(SELECT coalesce(sum(events), 0) FROM islands) - (SELECT coalesce(sum(events), 0) FROM old)` };
}

function mergeSql(batch: string): string {
  const { ctes, added } = visitMergeCtes(batch);
  return `WITH ${ctes}
SELECT ${added} AS added`;
}

const LIVE_BATCH = `SELECT * FROM unnest(?::text[], ?::text[], ?::timestamptz[], ?::uuid[], ?::text[], ?::text[]${STORED_ATTRIBUTES.map(() => ', ?::text[]').join('')})
    AS b(site_id, user_id, ts, event_id, event_type, path${STORED_ATTRIBUTES.map((a) => `, ${a}`).join('')})`;
const LIVE_MERGE = mergeSql(
  `SELECT site_id, user_id, ts, event_id, event_type, path, ${VISIT_ATTRIBUTES.map((a) => (stored(a) ? a : `NULL::text AS ${a}`)).join(', ')}
   FROM (${LIVE_BATCH}) b`,
);
/** The visit merge over the rows of a CTE `source` of one statement (insertRolledUp: the rows an INSERT returned). */
export function liveVisitCtes(source: string): { ctes: string; added: string } {
  return visitMergeCtes(
    `SELECT site_id, user_id, ts, event_id, event_type, path, ${VISIT_ATTRIBUTES.map((a) => (stored(a) ? a : `NULL::text AS ${a}`)).join(', ')}
     FROM ${source}`,
  );
}

const SITE_MERGE = mergeSql(
  `SELECT site_id, user_id, "timestamp" AS ts, event_id, event_type, path, ${VISIT_ATTRIBUTES.map((a) => (stored(a) ? a : `NULL::text AS ${a}`)).join(', ')}
   FROM analytics.website_events WHERE site_id = ?`,
);

async function runMerge(trx: Knex.Transaction, sql: string, bindings: unknown[], expected: number): Promise<void> {
  const result = await trx.raw<{ rows: { added: number | string }[] }>(sql, bindings as Knex.RawBinding[]);
  const added = Number(result.rows[0]!.added);
  if (added !== expected) throw new Error(`visits took in ${added} of ${expected} events`);
}

/**
 * Merges the rows the calling transaction just inserted into the visits and their day sums. The caller holds
 * the row locks of the batch's sites (applyRollups), so no other transaction writes those sites' visits.
 */
export async function applyVisits(trx: Knex.Transaction, inserted: InsertedEvent[]): Promise<void> {
  if (inserted.length === 0) return;
  const column = (key: string) => inserted.map((e) => (e as unknown as Record<string, unknown>)[key] ?? null);
  const bindings = ['site_id', 'user_id', 'ts', 'event_id', 'event_type', 'path', ...STORED_ATTRIBUTES].map(column);
  await runMerge(trx, LIVE_MERGE, bindings, inserted.length);
}

/**
 * Replaces a site's visits and their day sums with those of its raw events (whatever its zone: a visit ignores
 * day boundaries, so a site is recomputed whole). Day sums before the site's retention horizon are what retention
 * kept of them, and stay. The caller's transaction must hold lockSite for the site.
 */
export async function recomputeVisits(trx: Knex.Transaction, siteId: string): Promise<number> {
  await trx.raw('DELETE FROM analytics.visits WHERE site_id = ?', [siteId]);
  await trx.raw(`DELETE FROM analytics.daily_visits WHERE site_id = ? AND day >= ${RETAINED_FROM}`, [siteId, siteId]);
  const count = await trx.raw<{ rows: { n: number | string }[] }>('SELECT count(*) AS n FROM analytics.website_events WHERE site_id = ?', [siteId]);
  const events = Number(count.rows[0]!.n);
  await runMerge(trx, SITE_MERGE, [siteId], events);
  return events;
}

/**
 * Takes one visitor's visits out (an erasure, erasures.ts): their visits go and their day sums move by what those
 * visits added; a day left with nothing is deleted, as a recompute would leave it. Visits are per visitor, so no
 * other visitor's visits change and the site need not be recomputed. The caller's transaction must hold lockSite.
 */
export async function forgetVisitor(trx: Knex.Transaction, siteId: string, userId: string): Promise<void> {
  await trx.raw(
    `WITH gone AS (DELETE FROM analytics.visits WHERE site_id = ? AND user_id = ? RETURNING site_id, day, events, pageviews, started_at, ended_at),
     deltas AS (${daySums('SELECT site_id, day, -1 AS n, events, pageviews, started_at, ended_at FROM gone')})
     UPDATE analytics.daily_visits r SET ${addDaySums('d')}
     FROM deltas d WHERE r.site_id = d.site_id AND r.day = d.day`,
    [siteId, userId],
  );
  // A second statement: one statement cannot both update a row and delete it.
  await trx.raw('DELETE FROM analytics.daily_visits WHERE site_id = ? AND (visits, bounces, pageviews, duration_us) = (0, 0, 0, 0)', [siteId]);
}

// The raw events a visit cut by the retention horizon leaves behind (bind: users[], ends[], site, kept-from day, zone).
const REMNANTS = `FROM analytics.website_events e JOIN unnest(?::text[], ?::timestamptz[]) AS r(user_id, ended_at) USING (user_id)
   WHERE e.site_id = ? AND e."timestamp" >= (?::date::timestamp AT TIME ZONE ?) AND e."timestamp" <= r.ended_at`;
const REMNANT_MERGE = mergeSql(
  `SELECT e.site_id, e.user_id, e."timestamp" AS ts, e.event_id, e.event_type, e.path, ${VISIT_ATTRIBUTES.map((a) => (stored(a) ? `e.${a}` : `NULL::text AS ${a}`)).join(', ')}
   ${REMNANTS}`,
);

/**
 * Retention's part (retention.ts): visits hold user ids, so those that start before the kept-from day go with the
 * raw events. A visit that reached past the horizon leaves events behind; they are merged into visits of their
 * own (which start on or after that day). Day sums of the removed days are the caller's to keep or delete.
 */
export async function forgetVisitsBefore(trx: Knex.Transaction, siteId: string, keptFrom: string, timeZone: string): Promise<number> {
  const gone = await trx.raw<{ rows: { user_id: string; ended_at: string; cut: boolean }[] }>(
    `WITH gone AS (DELETE FROM analytics.visits WHERE site_id = ? AND day < ?::date RETURNING user_id, ended_at)
     SELECT user_id, ended_at::text AS ended_at, ended_at >= (?::date::timestamp AT TIME ZONE ?) AS cut FROM gone`,
    [siteId, keptFrom, keptFrom, timeZone],
  );
  const cut = gone.rows.filter((v) => v.cut);
  if (cut.length > 0) {
    const bindings = [cut.map((v) => v.user_id), cut.map((v) => v.ended_at), siteId, keptFrom, timeZone];
    const left = await trx.raw<{ rows: { n: number }[] }>(`SELECT count(*) AS n ${REMNANTS}`, bindings as Knex.RawBinding[]);
    await runMerge(trx, REMNANT_MERGE, bindings, Number(left.rows[0]!.n));
  }
  return gone.rows.length;
}
