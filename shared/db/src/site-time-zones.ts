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

export async function listSites(db: Knex): Promise<{ site_id: string; time_zone: string }[]> {
  const result = await db.raw<{ rows: { site_id: string; time_zone: string }[] }>(
    'SELECT site_id, time_zone FROM analytics.sites ORDER BY site_id',
  );
  return result.rows;
}
