import type { Knex } from './connection';
import { deleteInBatches } from './erasures';
import { PER_USER_ROLLUP_TABLES, ROLLUP_TABLES } from './rollups';
import { lockSite } from './site-lock';
import { forgetVisitsBefore } from './visits';

/**
 * Retention: per site (sites.retention_days, else the deployment's default), a site keeps today and the N previous
 * days of its zone. Older raw events go in small transactions (no long lock, safe beside the consumer), then, in
 * one transaction under the site's lock, the rollup rows and visits of those days: per-user rows and visits always,
 * counts (daily_visits included) unless the site keeps aggregates. `retained_from` records the horizon, so a rebuild leaves kept aggregates alone. A late
 * event older than the horizon is stored and counted, and its raw row goes on the next run.
 */
export interface RetentionOptions {
  /** RETENTION_DAYS: for sites without their own period; 0 = keep everything. */
  defaultDays: number;
  rowsPerTransaction?: number;
}

export interface SiteRetention {
  siteId: string;
  days: number;
  /** The first local day kept (YYYY-MM-DD). */
  keptFrom: string;
  events: number;
  rollupRows: number;
}

export async function applyRetention(db: Knex, options: RetentionOptions): Promise<SiteRetention[]> {
  const sites = await db.raw<{ rows: { site_id: string; time_zone: string; days: number; kept_from: string; keep_aggregates: boolean }[] }>(
    `SELECT site_id, time_zone, days, keep_aggregates,
            to_char((now() AT TIME ZONE time_zone)::date - days, 'YYYY-MM-DD') AS kept_from
     FROM (SELECT *, coalesce(retention_days, nullif(?::int, 0)) AS days FROM analytics.sites) s
     WHERE days IS NOT NULL ORDER BY site_id`,
    [options.defaultDays],
  );
  const done: SiteRetention[] = [];
  for (const site of sites.rows) {
    const events = await deleteInBatches(
      db,
      `site_id = ? AND "timestamp" < (?::date::timestamp AT TIME ZONE ?)`,
      [site.site_id, site.kept_from, site.time_zone],
      options.rowsPerTransaction ?? 5000,
    );
    const rollupRows = await db.transaction(async (trx) => {
      const timeZone = await lockSite(trx, site.site_id);
      let rows = await forgetVisitsBefore(trx, site.site_id, site.kept_from, timeZone);
      for (const table of site.keep_aggregates ? PER_USER_ROLLUP_TABLES : [...ROLLUP_TABLES, 'daily_visits']) {
        rows += (await trx.raw<{ rowCount: number }>(`DELETE FROM analytics.${table} WHERE site_id = ? AND day < ?::date`, [site.site_id, site.kept_from])).rowCount;
      }
      await trx.raw('UPDATE analytics.sites SET retained_from = greatest(retained_from, ?::date) WHERE site_id = ?', [site.kept_from, site.site_id]);
      return rows;
    });
    done.push({ siteId: site.site_id, days: Number(site.days), keptFrom: site.kept_from, events, rollupRows });
  }
  return done;
}

/** Retention under the one lock every runner takes (each consumer's timer, `admin retention run`); undefined when another holds it. */
export function applyRetentionExclusively(db: Knex, options: RetentionOptions): Promise<SiteRetention[] | undefined> {
  return withAdvisoryLock(db, 'sitestream.retention', () => applyRetention(db, options));
}

interface PgConnection {
  query<R>(text: string, values: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * Runs `work` only if no other process (any replica, the admin CLI) holds the named advisory lock; returns
 * undefined without running it otherwise. The lock lives on a connection of its own, released when done or when
 * the connection dies with the process.
 */
export async function withAdvisoryLock<T>(db: Knex, name: string, work: () => Promise<T>): Promise<T | undefined> {
  const connection = (await db.client.acquireConnection()) as PgConnection;
  try {
    const locked = await connection.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [name]);
    if (!locked.rows[0]?.ok) return undefined;
    try {
      return await work();
    } finally {
      await connection.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
    }
  } finally {
    await db.client.releaseConnection(connection);
  }
}
