import type { Knex } from './connection';
import { recomputeRollups } from './rollups';
import { lockSite } from './site-lock';
import { recomputeVisits } from './visits';

/** The zone's canonical IANA name as PostgreSQL's tz database spells it, or undefined when it has none. */
export async function canonicalTimeZone(db: Knex, zone: string): Promise<string | undefined> {
  // Only names from the tz database: no abbreviations (PST) and no POSIX strings (UTC+3, whose sign is inverted).
  const result = await db.raw<{ rows: { name: string }[] }>(
    'SELECT name FROM pg_timezone_names WHERE lower(name) = lower(?) ORDER BY name = ? DESC LIMIT 1',
    [zone, zone],
  );
  return result.rows[0]?.name;
}

export interface ZoneChange {
  siteId: string;
  previous: string;
  timeZone: string;
  /** Raw events whose rollups were recomputed in the new zone. */
  events: number;
}

/**
 * Sets a site's zone and, in the same transaction, recomputes all its rollups in that zone: a day means one
 * thing at every instant, and no reader ever sees days of two zones mixed. The site's row stays locked for the
 * whole rebuild, so the consumer's writes for this site wait for it (for a site with millions of events, that
 * is the time of the rebuild: set the zone when the site is created).
 */
export async function setSiteTimeZone(db: Knex, siteId: string, zone: string): Promise<ZoneChange> {
  const timeZone = await canonicalTimeZone(db, zone);
  if (!timeZone) throw new Error(`unknown time zone "${zone}": use an IANA name such as Europe/Paris or Asia/Kolkata`);
  return db.transaction(async (trx) => {
    const previous = await lockSite(trx, siteId);
    if (previous === timeZone) return { siteId, previous, timeZone, events: 0 };
    await trx.raw('UPDATE analytics.sites SET time_zone = ?, updated_at = now() WHERE site_id = ?', [timeZone, siteId]);
    const events = await recomputeRollups(trx, { siteId, timeZone });
    // A visit's day is the local day of its first event: the new zone may move it.
    await recomputeVisits(trx, siteId);
    return { siteId, previous, timeZone, events };
  });
}

export interface SiteRow {
  site_id: string;
  time_zone: string;
  retention_days: number | null;
  keep_aggregates: boolean;
  /** The oldest raw event's timestamp (ISO 8601), or null without events: how far back the site's data goes. */
  oldest_event: string | null;
}

export async function listSites(db: Knex): Promise<SiteRow[]> {
  const result = await db.raw<{ rows: SiteRow[] }>(
    `SELECT site_id, time_zone, retention_days, keep_aggregates,
            to_char((SELECT min("timestamp") FROM analytics.website_events e WHERE e.site_id = s.site_id) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS oldest_event
     FROM analytics.sites s ORDER BY site_id`,
  );
  return result.rows;
}

/** A site's retention period (null: the deployment's RETENTION_DAYS) and whether its daily counts outlive it. */
export async function setSiteRetention(db: Knex, siteId: string, days: number | null, keepAggregates: boolean): Promise<void> {
  await db.raw(
    `INSERT INTO analytics.sites (site_id, retention_days, keep_aggregates) VALUES (?, ?, ?)
     ON CONFLICT (site_id) DO UPDATE SET retention_days = excluded.retention_days, keep_aggregates = excluded.keep_aggregates, updated_at = now()`,
    [siteId, days, keepAggregates],
  );
}
