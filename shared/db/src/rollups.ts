import type { Knex } from './connection';
import { STORED_ATTRIBUTES, type VisitAttribute } from './visit-attributes';
import { applyVisits, liveVisitCtes } from './visits';

/**
 * Rollups: what reporting reads instead of the raw table. Per site and calendar day *in the site's time zone*:
 * event counts per event type, page views per path, the distinct users (one row each), and their number.
 *
 * Two writers keep them, both through ROLLUP_UPSERTS so they cannot disagree on a definition:
 * - the consumer, in the transaction that inserts the raw rows, for exactly the rows it inserted
 *   (applyRollups; duplicates are never inserted, so they are never counted);
 * - the rebuild (recomputeRollups), which deletes a site's days and recomputes them from the raw table.
 * Both follow the locking protocol in site-lock.ts.
 */

/** Every rollup table: what a recompute clears and refills. A new rollup table goes here and into ROLLUP_UPSERTS. */
export const ROLLUP_TABLES = ['daily_event_counts', 'daily_path_views', 'daily_users', 'daily_user_counts'] as const;

/** The rollup tables that hold user ids: retention removes their rows with the raw rows, whatever a site keeps. */
export const PER_USER_ROLLUP_TABLES: readonly (typeof ROLLUP_TABLES)[number][] = ['daily_users'];

/**
 * Upserts the rows of a CTE named `ev` (site_id, day, event_type, path, user_id) into the rollups.
 * Inputs are grouped (one proposed row per key) and sorted (the same lock order in every transaction).
 */
const ROLLUP_UPSERTS = `
counted AS (
  INSERT INTO analytics.daily_event_counts AS r (site_id, day, event_type, events)
  SELECT site_id, day, event_type, count(*) FROM ev GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (site_id, day, event_type) DO UPDATE SET events = r.events + excluded.events
),
viewed AS (
  INSERT INTO analytics.daily_path_views AS r (site_id, day, path_hash, path, views)
  SELECT site_id, day, sha256(convert_to(path, 'UTF8')), path, count(*)
  FROM ev WHERE event_type = 'page_view' GROUP BY site_id, day, path ORDER BY 1, 2, 3
  ON CONFLICT (site_id, day, path_hash) DO UPDATE SET views = r.views + excluded.views
),
new_users AS (
  INSERT INTO analytics.daily_users (site_id, day, user_id)
  SELECT site_id, day, user_id FROM ev GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT DO NOTHING
  RETURNING site_id, day
),
user_counts AS (
  INSERT INTO analytics.daily_user_counts AS r (site_id, day, users)
  SELECT site_id, day, count(*) FROM new_users GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (site_id, day) DO UPDATE SET users = r.users + excluded.users
)`;

/**
 * What the writer's INSERT returns for each row it inserted: exactly the stored values the rollups need.
 * Timestamps come back as text so no precision is lost on the way through JavaScript (a Date has milliseconds,
 * PostgreSQL microseconds: 23:59:59.9999995 is stored as the next day).
 */
export const ROLLUP_RETURNING = `site_id, event_type, path, user_id, "timestamp"::text AS ts, event_id, kafka_partition, received_at::text AS received_at, ${STORED_ATTRIBUTES.join(', ')}`;

/** A visit's attributes come from its first event's context (visit-attributes.ts). */
export type InsertedEvent = InsertedCore & { [K in VisitAttribute]?: string | null };

interface InsertedCore {
  site_id: string;
  event_type: string;
  path: string;
  user_id: string;
  ts: string;
  /** Orders events of one instant (visits.ts). */
  event_id: string;
  kafka_partition: number;
  received_at: string;
}

/**
 * The consumer's rollups as CTEs (rollup_zones … watermarks) over the rows of a CTE named `source` (site_id,
 * event_type, path, user_id, ts timestamptz, kafka_partition, received_at); `ev` then holds one row per event.
 */
function liveRollupCtes(source: string): string {
  return `
rollup_zones AS (
  SELECT s.site_id, s.time_zone FROM analytics.sites s
  WHERE s.site_id IN (SELECT site_id FROM ${source})
  ORDER BY s.site_id FOR NO KEY UPDATE
),
ev AS MATERIALIZED (
  SELECT b.site_id, (b.ts AT TIME ZONE z.time_zone)::date AS day, b.event_type, b.path, b.user_id
  FROM ${source} b JOIN rollup_zones z USING (site_id)
),
${ROLLUP_UPSERTS},
watermarks AS (
  INSERT INTO analytics.partition_watermarks AS w (kafka_partition, max_received_at)
  SELECT kafka_partition, max(received_at) FROM ${source} GROUP BY 1 ORDER BY 1
  ON CONFLICT (kafka_partition) DO UPDATE
    SET max_received_at = greatest(w.max_received_at, excluded.max_received_at), updated_at = now()
)`;
}

const LIVE_ROLLUP = `
WITH batch AS (
  SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::int[], ?::timestamptz[])
    AS b(site_id, event_type, path, user_id, ts, kafka_partition, received_at)
),
${liveRollupCtes('batch')}
SELECT (SELECT count(*) FROM ev) AS rolled_up`;

/**
 * Adds the rows the calling transaction just inserted (as its INSERT … RETURNING ROLLUP_RETURNING gave them)
 * to the rollups and the visits (visits.ts), in that transaction. Its errors are the batch's: the writer calls it
 * outside the savepoints that isolate bad rows, so no error here can be taken for bad event data (see
 * db-errors.ts). The caller holds lockSitesForWrite for the rows' sites. The writer's common case does the same
 * in the insert's own statement (insertRolledUp); this is its path when some rows had to be isolated.
 */
export async function applyRollups(trx: Knex.Transaction, inserted: InsertedEvent[]): Promise<void> {
  if (inserted.length === 0) return;
  const column = <K extends keyof InsertedEvent>(key: K) => inserted.map((e) => e[key]);
  const result = await trx.raw<{ rows: { rolled_up: number }[] }>(LIVE_ROLLUP, [
    column('site_id'),
    column('event_type'),
    column('path'),
    column('user_id'),
    column('ts'),
    column('kafka_partition'),
    column('received_at'),
  ]);
  const rolledUp = Number(result.rows[0]!.rolled_up);
  if (rolledUp !== inserted.length) throw new Error(`rollups covered ${rolledUp} of ${inserted.length} inserted events`);
  // Under the sites' row locks taken just above: no other writer of these sites' visits runs meanwhile.
  await applyVisits(trx, inserted);
}

/** What the writer's INSERT returns inside insertRolledUp's statement: the stored values, never sent to Node. */
export const LIVE_RETURNING = `site_id, event_type, path, user_id, "timestamp" AS ts, event_id, kafka_partition, received_at, ${STORED_ATTRIBUTES.join(', ')}`;

const rolledUpSql = new Map<string, string>();

/**
 * One statement, one round trip: the caller's `INSERT … RETURNING LIVE_RETURNING` as a CTE, and the rollups and
 * visit merge of exactly the rows it inserted (duplicates return nothing), instead of shipping every inserted row
 * to Node and back out twice (applyRollups). Returns how many rows were inserted. The same caller duties as
 * applyRollups (lockSitesForWrite held); an error of the insert's data surfaces from this statement, so the
 * writer runs it inside a savepoint and falls back to isolating rows, then applyRollups.
 */
export async function insertRolledUp(trx: Knex.Transaction, insertSql: string, bindings: readonly Knex.RawBinding[]): Promise<number> {
  let sql = rolledUpSql.get(insertSql);
  if (sql === undefined) {
    const visits = liveVisitCtes('inserted');
    sql = `WITH inserted AS (${insertSql}),
${liveRollupCtes('inserted')},
${visits.ctes}
SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM ev) AS rolled_up, ${visits.added} AS visited`;
    rolledUpSql.set(insertSql, sql);
  }
  const result = await trx.raw<{ rows: { inserted: number; rolled_up: number; visited: number | string }[] }>(sql, bindings as Knex.RawBinding[]);
  const row = result.rows[0]!;
  const inserted = Number(row.inserted);
  if (Number(row.rolled_up) !== inserted) throw new Error(`rollups covered ${row.rolled_up} of ${inserted} inserted events`);
  if (Number(row.visited) !== inserted) throw new Error(`visits took in ${row.visited} of ${inserted} events`);
  return inserted;
}

/**
 * The first day a site still has raw rows for (bind the site id): days before it were removed by retention, and a
 * recompute leaves whatever aggregates they kept as they are.
 */
export const RETAINED_FROM = `(SELECT coalesce(retained_from, '-infinity'::date) FROM analytics.sites WHERE site_id = ?)`;

export interface RecomputeScope {
  siteId: string;
  /** The site's zone, as returned by lockSite in the same transaction. */
  timeZone: string;
  /** Inclusive local days (YYYY-MM-DD); both absent means every day of the site. */
  from?: string;
  to?: string;
}

/**
 * Replaces a site's rollups for a range of local days with values recomputed from the raw table. The caller's
 * transaction must hold lockSite (site-lock.ts) for the site. Returns the number of raw events the range holds.
 */
export async function recomputeRollups(trx: Knex.Transaction, scope: RecomputeScope): Promise<number> {
  const days = scope.from !== undefined && scope.to !== undefined ? [scope.from, scope.to] : undefined;
  const ranged = days !== undefined;
  const dayFilter = ` AND day >= ${RETAINED_FROM}${ranged ? ' AND day BETWEEN ?::date AND ?::date' : ''}`;
  const dayBindings = [scope.siteId, ...(days ?? [])];
  for (const table of ROLLUP_TABLES) {
    await trx.raw(`DELETE FROM analytics.${table} WHERE site_id = ?${dayFilter}`, [scope.siteId, ...dayBindings]);
  }
  // Offsets lie within -12:00 … +14:00, so local day D lies inside UTC [D - 1, D + 2): an indexed pre-filter.
  const rawFilter = ranged
    ? ` AND "timestamp" >= (?::date - 1)::timestamp AT TIME ZONE 'UTC' AND "timestamp" < (?::date + 2)::timestamp AT TIME ZONE 'UTC'`
    : '';
  const result = await trx.raw<{ rows: { events: number }[] }>(
    `WITH ev AS MATERIALIZED (
       SELECT site_id, day, event_type, path, user_id FROM (
         SELECT site_id, ("timestamp" AT TIME ZONE ?)::date AS day, event_type, path, user_id
         FROM analytics.website_events WHERE site_id = ?${rawFilter}
       ) local_days WHERE TRUE${dayFilter}
     ),
     ${ROLLUP_UPSERTS}
     SELECT count(*) AS events FROM ev`,
    [scope.timeZone, scope.siteId, ...(days ?? []), ...dayBindings],
  );
  return Number(result.rows[0]?.events ?? 0);
}
