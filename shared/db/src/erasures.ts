import type { Knex } from './connection';
import { QUERY_TABLES } from './query-rollups';
import { recomputeRollups, ROLLUP_TABLES } from './rollups';
import { lockQueryBuilds, lockSite } from './site-lock';
import { forgetVisitor, VISIT_TABLES } from './visits';

/**
 * Erasure of one visitor and deletion of a whole site, and the tombstones that keep them erased.
 *
 * A tombstone (analytics.erasures) names a site and a keyed hash of a user id (analytics.visitor_hash; the id
 * itself is not kept), or the whole site. The consumer checks the tombstones of a batch's sites under the site
 * lock, before it inserts (findErased), so an event of an erased visitor with a timestamp before the erasure, or
 * any event of a deleted site received before the deletion, is never stored again: not when it arrives late, is
 * re-sent, or is replayed from Kafka. A rebuild reads only the raw table, which no longer holds them.
 */

export interface ErasureSummary {
  siteId: string;
  events: number;
  days: number;
}

/** The keyed hash a tombstone holds, of two SQL expressions (bound values or columns). */
const visitorHash = (site: string, user: string) => `analytics.visitor_hash((SELECT hash_key FROM analytics.visitor_hash_key), ${site}, ${user})`;

/**
 * Erases a visitor in one transaction under the site's lock: the tombstone, the raw events, the per-user rows,
 * the query API's integer for them, and every rollup they counted in (the days they touched are recomputed from
 * the raw rows that remain).
 */
export async function eraseVisitor(db: Knex, siteId: string, userId: string): Promise<ErasureSummary> {
  return db.transaction(async (trx) => {
    // Any build of the site's query days first, then the site (the order deleteSite keeps too): a build can take
    // tens of seconds on a big site, and waiting for it while holding the site's lock would hold its ingestion.
    await lockQueryBuilds(trx, siteId);
    const timeZone = await lockSite(trx, siteId);
    // Stamped once both locks are held (not at the transaction's start): later than the end of any build or
    // sweep of the site's query values (query-sweep.ts), so such a sweep never counts this erasure as swept.
    await trx.raw(
      `INSERT INTO analytics.erasures (site_id, user_hash, erased_at) VALUES (?, ${visitorHash('?', '?')}, clock_timestamp())
       ON CONFLICT (site_id, user_hash) WHERE user_hash IS NOT NULL DO UPDATE SET erased_at = excluded.erased_at`,
      [siteId, siteId, userId],
    );
    const removed = await trx.raw<{ rows: { day: string; events: number }[] }>(
      `WITH gone AS (DELETE FROM analytics.website_events WHERE site_id = ? AND user_id = ? RETURNING "timestamp")
       SELECT to_char(("timestamp" AT TIME ZONE ?)::date, 'YYYY-MM-DD') AS day, count(*) AS events FROM gone GROUP BY 1 ORDER BY 1`,
      [siteId, userId, timeZone],
    );
    // The query API's integer for this visitor goes too (its rows name the visitor's keyed hash). Its rows and
    // facts of the days they counted in are no longer trusted from now on (queryDayValidity: an erasure since the
    // build) and the background job rebuilds them from the raw rows that remain.
    await trx.raw(`DELETE FROM analytics.query_user_ids WHERE site_id = ? AND user_hash = ${visitorHash('?', '?')}`, [siteId, siteId, userId]);
    for (const { day } of removed.rows) await recomputeRollups(trx, { siteId, timeZone, from: day, to: day });
    // Only this visitor's visits go (visits are per visitor): recomputing the site's visits from its raw events
    // would hold the site's lock, and so its ingestion, for as long as a rebuild of the site takes.
    await forgetVisitor(trx, siteId, userId);
    return { siteId, events: removed.rows.reduce((n, r) => n + Number(r.events), 0), days: removed.rows.length };
  });
}

export interface SiteDeletion {
  siteId: string;
  events: number;
  deadLetters: number;
  keysDeleted: number;
  keysNarrowed: number;
}

/**
 * Deletes everything of a site. The tombstone commits first, so the consumer stores nothing more of what was
 * received until now; then the raw rows go in small transactions (no long lock); then the rest in one
 * transaction under the site's lock. What remains is the tombstone (the site id and the time): without it a
 * replay from Kafka would bring the site back. Keys scoped to this site alone are deleted; other keys lose it.
 */
export async function deleteSite(db: Knex, siteId: string, rowsPerTransaction = 5000): Promise<SiteDeletion> {
  await db.transaction(async (trx) => {
    await lockSite(trx, siteId);
    await trx.raw(
      `INSERT INTO analytics.erasures (site_id, user_hash) VALUES (?, NULL)
       ON CONFLICT (site_id) WHERE user_hash IS NULL DO UPDATE SET erased_at = now()`,
      [siteId],
    );
  });
  const events = await deleteInBatches(db, 'site_id = ?', [siteId], rowsPerTransaction);
  return db.transaction(async (trx) => {
    // After any build of the site's query days running now (which then finds no events), before the site's lock.
    await lockQueryBuilds(trx, siteId);
    await lockSite(trx, siteId);
    for (const table of [...ROLLUP_TABLES, ...VISIT_TABLES]) await trx.raw(`DELETE FROM analytics.${table} WHERE site_id = ?`, [siteId]);
    // The query API's rows go too: its strings (paths, referrers, campaigns) and visitor hashes would otherwise
    // outlive the site.
    for (const table of QUERY_TABLES) await trx.raw(`DELETE FROM analytics.${table} WHERE site_id = ?`, [siteId]);
    const dead = await trx.raw<{ rowCount: number }>('DELETE FROM analytics.dead_letters WHERE analytics.payload_site(payload) = ?', [siteId]);
    const keysDeleted = await trx.raw<{ rowCount: number }>('DELETE FROM analytics.api_keys WHERE site_ids = ARRAY[?]::text[]', [siteId]);
    const keysNarrowed = await trx.raw<{ rowCount: number }>(
      'UPDATE analytics.api_keys SET site_ids = array_remove(site_ids, ?) WHERE ? = ANY(site_ids)',
      [siteId, siteId],
    );
    await trx.raw('DELETE FROM analytics.erasures WHERE site_id = ? AND user_hash IS NOT NULL', [siteId]);
    await trx.raw('DELETE FROM analytics.sites WHERE site_id = ?', [siteId]);
    return { siteId, events, deadLetters: dead.rowCount, keysDeleted: keysDeleted.rowCount, keysNarrowed: keysNarrowed.rowCount };
  });
}

/**
 * Deletes raw events matching `where` a few thousand rows per transaction, so no lock is held for long and the
 * consumer keeps writing meanwhile. Returns how many were deleted.
 */
export async function deleteInBatches(db: Knex, where: string, bindings: unknown[], rowsPerTransaction: number): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db.raw<{ rowCount: number }>(
      `DELETE FROM analytics.website_events WHERE id IN (SELECT id FROM analytics.website_events WHERE ${where} LIMIT ?)`,
      [...bindings, rowsPerTransaction] as Knex.RawBinding[],
    );
    total += result.rowCount;
    if (result.rowCount < rowsPerTransaction) return total;
  }
}

export interface TombstoneCheck {
  site_id: string;
  user_id: string;
  timestamp: string;
  received_at: string;
}

/**
 * Which of these events a tombstone forbids storing (their indexes). Called by the writer, under
 * lockSitesForWrite, only for batches with a tombstoned site.
 */
export async function findErased(trx: Knex.Transaction, events: TombstoneCheck[]): Promise<Set<number>> {
  const result = await trx.raw<{ rows: { i: number }[] }>(
    `SELECT x.i FROM unnest(?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[]) WITH ORDINALITY AS x(s, u, ts, r, i)
     WHERE EXISTS (
       SELECT 1 FROM analytics.erasures e WHERE e.site_id = x.s AND (
         (e.user_hash IS NULL AND x.r < e.erased_at) OR
         (e.user_hash = ${visitorHash('x.s', 'x.u')} AND x.ts < e.erased_at)))`,
    [events.map((e) => e.site_id), events.map((e) => e.user_id), events.map((e) => e.timestamp), events.map((e) => e.received_at)],
  );
  return new Set(result.rows.map((r) => Number(r.i) - 1));
}
