import type { Knex } from './connection';

/**
 * The locking protocol that lets a rollup rebuild, a time zone change (and whatever later recomputes a site's
 * aggregates) run while the consumer writes:
 * - the consumer takes FOR NO KEY UPDATE on the `sites` row of every site in its batch, in site_id order, before
 *   it touches that site's rollups and visits, and reads the site's zone under that lock (rollups.ts, LIVE_ROLLUP).
 *   Consumer transactions of one site therefore run one after the other: a site's events normally live in one
 *   partition (keyed by site_id), but while partitions are added two partitions may hold one site, and visits,
 *   unlike counters, are read, merged and rewritten (visits.ts), which needs a single writer per site;
 * - a recompute holds FOR UPDATE on the site's row (lockSite) for its whole transaction.
 * So a consumer transaction either commits before the recompute reads the raw table (which then sees its rows),
 * or waits and adds its increments after the recompute committed (which did not see its uncommitted rows).
 * Consumers lock sites in site_id order and upsert rollup rows in key order; visit rows are only ever written
 * under their site's lock, so nobody waits on them: no deadlocks.
 */

/**
 * The consumer's side of the protocol, first thing in its transaction (before it inserts raw rows, so an erasure
 * or a site deletion cannot slip between its tombstone check and its commit): creates the rows of sites seen for
 * the first time (zone UTC), then takes FOR NO KEY UPDATE on every site of the batch in site_id order. Returns the
 * sites that have tombstones (erasures.ts), whose events must be checked before they are inserted. A deleted
 * site's row is not created again here: only once an event of it survives that check (`deletedToo`).
 */
export async function lockSitesForWrite(trx: Knex.Transaction, siteIds: string[], deletedToo = false): Promise<Set<string>> {
  const sites = [...new Set(siteIds)].sort();
  if (sites.length === 0) return new Set();
  // Its own statement, so the next one's snapshot sees the rows, including one another transaction inserted.
  await trx.raw(
    `INSERT INTO analytics.sites (site_id) SELECT s FROM unnest(?::text[]) s
     WHERE ? OR NOT EXISTS (SELECT 1 FROM analytics.erasures e WHERE e.site_id = s AND e.user_hash IS NULL)
     ON CONFLICT DO NOTHING`,
    [sites, deletedToo],
  );
  // A deleted site may have no row to lock: its tombstone is read all the same.
  const locked = await trx.raw<{ rows: { tombstoned: string[] }[] }>(
    `WITH locked AS (SELECT site_id FROM analytics.sites WHERE site_id = ANY(?::text[]) ORDER BY site_id FOR NO KEY UPDATE)
     SELECT (SELECT count(*) FROM locked) AS locked,
            array(SELECT DISTINCT site_id FROM analytics.erasures WHERE site_id = ANY(?::text[])) AS tombstoned`,
    [sites, sites],
  );
  return new Set(locked.rows[0]!.tombstoned);
}

/**
 * How long a recompute waits for the site's row. A consumer transaction holds it for milliseconds; waiting longer
 * means something holds it for long (another rebuild), and a queued FOR UPDATE would make every consumer
 * transaction of the site queue behind it: better to fail and say so.
 */
export const SITE_LOCK_TIMEOUT = '10s';

/**
 * Takes the site's row FOR UPDATE (creating it, zone UTC, if missing) and returns its zone. Held until the
 * transaction ends, it keeps the consumer away from the site's rollups.
 */
export async function lockSite(trx: Knex.Transaction, siteId: string): Promise<string> {
  await trx.raw(`SET LOCAL lock_timeout = '${SITE_LOCK_TIMEOUT}'`);
  await trx.raw('INSERT INTO analytics.sites (site_id) VALUES (?) ON CONFLICT DO NOTHING', [siteId]);
  const locked = await trx.raw<{ rows: { time_zone: string }[] }>(
    'SELECT time_zone FROM analytics.sites WHERE site_id = ? FOR UPDATE',
    [siteId],
  );
  // The lock is held; what follows (the recompute) may wait on nothing else for long.
  await trx.raw('SET LOCAL lock_timeout = 0');
  return locked.rows[0]!.time_zone;
}

/**
 * Serializes the caller's transaction with every build of the site's query days and every sweep of its values
 * (query-rollups.ts, query-sweep.ts), held until it ends. Whoever takes both takes this one before lockSite.
 */
export async function lockQueryBuilds(trx: Knex.Transaction, siteId: string): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`query-rollups:${siteId}`]);
}
