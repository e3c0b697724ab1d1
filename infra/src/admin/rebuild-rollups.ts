import { lockSite, recomputeRollups } from '@sitestream/consumer';
import type { Knex } from '@sitestream/shared';

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
 * consumer writes: every transaction holds the site's row FOR UPDATE (see consumer/src/rollups.ts).
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
  const span = options.from !== undefined && options.to !== undefined ? await rangeSpan(db, siteId, options.from, options.to) : await siteSpan(db, siteId);
  let transactions = 0;
  if (!span.explicit) {
    // Days outside the site's events (a previous zone, deleted raw rows) must not keep stale rollups.
    await db.transaction(async (trx) => {
      await lockSite(trx, siteId);
      await recomputeOutside(trx, siteId, span);
    });
    transactions++;
  }
  if (span.events === 0 && !span.explicit) return { events: 0, transactions };
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
  events: number;
  explicit: boolean;
}

/** The site's local days with events, widened by a day on each side in case its zone changes meanwhile. */
async function siteSpan(db: Knex, siteId: string): Promise<Span> {
  const result = await db.raw<{ rows: { first: string | null; last: string | null; events: number }[] }>(
    `SELECT to_char((min(e."timestamp") AT TIME ZONE z.zone)::date - 1, 'YYYY-MM-DD') AS first,
            to_char((max(e."timestamp") AT TIME ZONE z.zone)::date + 1, 'YYYY-MM-DD') AS last,
            count(e.site_id) AS events
     FROM (SELECT coalesce((SELECT time_zone FROM analytics.sites WHERE site_id = ?), 'UTC') AS zone) z
     LEFT JOIN analytics.website_events e ON e.site_id = ?
     GROUP BY z.zone`,
    [siteId, siteId],
  );
  const row = result.rows[0]!;
  if (row.first === null || row.last === null) return { from: '9999-12-31', to: '0001-01-01', events: 0, explicit: false };
  return { from: row.first, to: row.last, events: Number(row.events), explicit: false };
}

async function rangeSpan(db: Knex, siteId: string, from: string, to: string): Promise<Span> {
  const result = await db.raw<{ rows: { events: number }[] }>(
    `SELECT count(*) AS events FROM analytics.website_events WHERE site_id = ?
       AND "timestamp" >= (?::date - 1)::timestamp AT TIME ZONE 'UTC' AND "timestamp" < (?::date + 2)::timestamp AT TIME ZONE 'UTC'`,
    [siteId, from, to],
  );
  return { from, to, events: Number(result.rows[0]?.events ?? 0), explicit: true };
}

async function recomputeOutside(trx: Knex.Transaction, siteId: string, span: Span): Promise<void> {
  for (const table of ['daily_event_counts', 'daily_path_views', 'daily_users', 'daily_user_counts']) {
    await trx.raw(`DELETE FROM analytics.${table} WHERE site_id = ? AND (day < ?::date OR day > ?::date)`, [siteId, span.from, span.to]);
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
