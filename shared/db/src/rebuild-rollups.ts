import type { Knex } from './connection';
import { recomputeRollups, RETAINED_FROM, ROLLUP_TABLES } from './rollups';
import { lockSite } from './site-lock';
import { recomputeVisits } from './visits';

export interface RebuildOptions {
  /** One site; absent: every site with raw events, a sites row or rollups. */
  siteId?: string;
  /** Inclusive local days (YYYY-MM-DD), both or neither; neither: every day of each site. */
  from?: string;
  to?: string;
  /**
   * Raw events recomputed per transaction. A transaction holds the site's lock, which the consumer waits for, so
   * a big site is rebuilt a few days at a time; a small one in a single transaction.
   */
  eventsPerTransaction?: number;
  onSite?: (progress: { siteId: string; events: number; transactions: number }) => void;
}

export interface RebuildSummary {
  sites: number;
  events: number;
  transactions: number;
}

const DAY_MS = 86_400_000;

/**
 * Recomputes rollups from the raw table. Idempotent (each range is deleted and recomputed), and safe while the
 * consumer writes: every transaction holds the site's row FOR UPDATE (see site-lock.ts).
 */
export async function rebuildRollups(db: Knex, options: RebuildOptions = {}): Promise<RebuildSummary> {
  if ((options.from === undefined) !== (options.to === undefined)) throw new Error('give both --from and --to, or neither');
  const sites = options.siteId !== undefined ? [options.siteId] : await allSiteIds(db);
  const summary: RebuildSummary = { sites: 0, events: 0, transactions: 0 };
  for (const siteId of sites) {
    const result = await rebuildSite(db, siteId, options);
    summary.sites++;
    summary.events += result.events;
    summary.transactions += result.transactions;
    options.onSite?.({ siteId, ...result });
  }
  return summary;
}

async function rebuildSite(db: Knex, siteId: string, options: RebuildOptions): Promise<{ events: number; transactions: number }> {
  const perTransaction = options.eventsPerTransaction ?? 250_000;
  // Visits ignore day boundaries (one may cross midnight, and a range's edge may split one), so a site's visits
  // are recomputed whole, in one transaction under its lock, whatever days were asked for.
  await db.transaction(async (trx) => {
    await lockSite(trx, siteId);
    await recomputeVisits(trx, siteId);
  });
  let transactions = 1;
  let span: Span;
  if (options.from !== undefined && options.to !== undefined) {
    span = await rangeSpan(db, siteId, options.from, options.to);
  } else {
    // The site's days are read under its lock, and days outside them cleared in the same transaction: the
    // consumer may meanwhile have written days no earlier look at the raw table could know about.
    const events = await countEvents(db, siteId);
    span = await db.transaction(async (trx) => {
      const timeZone = await lockSite(trx, siteId);
      const days = await siteDays(trx, siteId, timeZone);
      await deleteOutside(trx, siteId, days);
      return { ...days, events };
    });
    transactions++;
    if (span.from > span.to) return { events: 0, transactions };
  }
  const days = dayCount(span.from, span.to);
  const daysPerChunk = Math.max(1, Math.min(days, Math.floor((perTransaction * days) / Math.max(1, span.events))));
  let events = 0;
  for (let start = 0; start < days; start += daysPerChunk) {
    const from = addDays(span.from, start);
    const to = addDays(span.from, Math.min(days, start + daysPerChunk) - 1);
    events += await db.transaction(async (trx) => {
      const timeZone = await lockSite(trx, siteId);
      return recomputeRollups(trx, { siteId, timeZone, from, to });
    });
    transactions++;
  }
  return { events, transactions };
}

interface Span {
  from: string;
  to: string;
  /** Raw events in the span, an estimate used to size transactions. */
  events: number;
}

async function countEvents(db: Knex, siteId: string): Promise<number> {
  const result = await db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events WHERE site_id = ?', [siteId]);
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * The first and last local day of the site's events, widened by a day on each side (in case its zone changes
 * between this transaction and the next); an empty span (from > to) when it has none. min/max use the
 * (site_id, "timestamp") index.
 */
async function siteDays(trx: Knex.Transaction, siteId: string, timeZone: string): Promise<{ from: string; to: string }> {
  const result = await trx.raw<{ rows: { first: string | null; last: string | null }[] }>(
    `SELECT to_char((min("timestamp") AT TIME ZONE ?)::date - 1, 'YYYY-MM-DD') AS first,
            to_char((max("timestamp") AT TIME ZONE ?)::date + 1, 'YYYY-MM-DD') AS last
     FROM analytics.website_events WHERE site_id = ?`,
    [timeZone, timeZone, siteId],
  );
  const row = result.rows[0];
  return row?.first && row.last ? { from: row.first, to: row.last } : { from: '9999-12-31', to: '0001-01-01' };
}

async function rangeSpan(db: Knex, siteId: string, from: string, to: string): Promise<Span> {
  const result = await db.raw<{ rows: { events: number }[] }>(
    `SELECT count(*) AS events FROM analytics.website_events WHERE site_id = ?
       AND "timestamp" >= (?::date - 1)::timestamp AT TIME ZONE 'UTC' AND "timestamp" < (?::date + 2)::timestamp AT TIME ZONE 'UTC'`,
    [siteId, from, to],
  );
  return { from, to, events: Number(result.rows[0]?.events ?? 0) };
}

/**
 * Days outside the site's events (a previous zone, deleted raw rows) must not keep stale rollups; days before the
 * retention horizon keep what retention left of them (nothing, or the aggregates a site keeps).
 */
async function deleteOutside(trx: Knex.Transaction, siteId: string, span: { from: string; to: string }): Promise<void> {
  for (const table of ROLLUP_TABLES) {
    await trx.raw(
      `DELETE FROM analytics.${table} WHERE site_id = ? AND (day < ?::date OR day > ?::date)
         AND day >= ${RETAINED_FROM}`,
      [siteId, span.from, span.to, siteId],
    );
  }
}

/** Every site anything is known about: raw events (a loose index scan, one probe per site), sites, rollups. */
async function allSiteIds(db: Knex): Promise<string[]> {
  const result = await db.raw<{ rows: { site_id: string }[] }>(
    `WITH RECURSIVE raw_sites AS (
       (SELECT site_id FROM analytics.website_events ORDER BY site_id LIMIT 1)
       UNION ALL
       SELECT (SELECT e.site_id FROM analytics.website_events e WHERE e.site_id > r.site_id ORDER BY e.site_id LIMIT 1)
       FROM raw_sites r WHERE r.site_id IS NOT NULL
     )
     SELECT site_id FROM raw_sites WHERE site_id IS NOT NULL
     UNION SELECT site_id FROM analytics.sites
     UNION SELECT DISTINCT site_id FROM analytics.daily_user_counts
     ORDER BY 1`,
  );
  return result.rows.map((r) => r.site_id);
}

function dayCount(from: string, to: string): number {
  return Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS) + 1);
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(day) + n * DAY_MS).toISOString().slice(0, 10);
}
