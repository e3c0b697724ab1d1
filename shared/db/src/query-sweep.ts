import type { Knex } from './connection';
import { NOT_SET } from './query-dimensions';
import { FACT_COLUMNS } from './query-facts';
import { lockQueryBuilds } from './site-lock';

/*
 * After a visitor's erasure the query API's values (query_strings: pages, referrers, campaigns, property values —
 * and whole property sets, query_props) that only that visitor's events carried would outlive the erasure: the
 * job rebuilds the site's rows and facts from the events that remain, but values are only ever added by builds. A
 * value can be personal (a property holding an e-mail address, a referrer with a token), so once every stored day
 * of the site has been rebuilt since its last erasure, the values no fact names any more are deleted.
 */

// The facts' value columns; event_props names a property set, whose keys' values query_props lists.
const VALUE_COLUMNS = [...Object.values(FACT_COLUMNS), 'event_props'];

/** Sites with an erasure newer than their last sweep, every stored day of which is built after it (`:site` null = all). */
const DUE_SQL = `
  SELECT x.site_id FROM analytics.erasures x
  WHERE x.user_hash IS NOT NULL AND (:site::text IS NULL OR x.site_id = :site::text)
  GROUP BY x.site_id
  HAVING max(x.erased_at) > coalesce((SELECT q.swept_at FROM analytics.query_sites q WHERE q.site_id = x.site_id), '-infinity')
     -- The days' validity rule (query-rollups.ts): a day built less than 5 minutes before an erasure may include it.
     AND NOT EXISTS (SELECT 1 FROM analytics.query_days qd WHERE qd.site_id = x.site_id AND qd.built_at - interval '5 minutes' < max(x.erased_at))`;

/** Sweeps every due site (or only `siteId`); answers the number of values deleted. */
export async function sweepErasedStrings(db: Knex, siteId?: string): Promise<number> {
  const due = await db.raw<{ rows: { site_id: string }[] }>(DUE_SQL, { site: siteId ?? null });
  let deleted = 0;
  for (const { site_id } of due.rows) deleted += await sweepSite(db, site_id);
  return deleted;
}

async function sweepSite(db: Knex, site: string): Promise<number> {
  return db.transaction(async (trx) => {
    // Under the builds' lock (read committed: each statement then sees every build committed before it), so no
    // build adds a value between the check below and the deletes.
    await lockQueryBuilds(trx, site);
    if ((await trx.raw<{ rows: unknown[] }>(DUE_SQL, { site })).rows.length === 0) return 0;
    // One pass over the site's facts: a grouping set per column, each giving that column's distinct values.
    await trx.raw(
      `CREATE TEMP TABLE qs_used ON COMMIT DROP AS
       SELECT coalesce(${VALUE_COLUMNS.join(', ')}) AS id FROM analytics.query_facts WHERE site_id = :site
       GROUP BY GROUPING SETS (${VALUE_COLUMNS.map((c) => `(${c})`).join(', ')})`,
      { site },
    );
    await trx.raw('ANALYZE qs_used');
    await trx.raw('DELETE FROM analytics.query_props p WHERE p.site_id = :site AND NOT EXISTS (SELECT 1 FROM qs_used u WHERE u.id = p.props)', { site });
    const gone = await trx.raw<{ rowCount: number }>(
      `DELETE FROM analytics.query_strings s WHERE s.site_id = :site AND s.value <> '${NOT_SET}'
         AND NOT EXISTS (SELECT 1 FROM qs_used u WHERE u.id = s.id)
         AND NOT EXISTS (SELECT 1 FROM analytics.query_props p WHERE p.site_id = :site AND p.value = s.id)`,
      { site },
    );
    await trx.raw(
      `INSERT INTO analytics.query_sites (site_id, swept_at) VALUES (:site, clock_timestamp())
       ON CONFLICT (site_id) DO UPDATE SET swept_at = excluded.swept_at`,
      { site },
    );
    return gone.rowCount;
  });
}
