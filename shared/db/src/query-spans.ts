import type { Knex } from './connection';
import { PROPS_PREFIX } from './query-dimensions';
import { lockQueryBuilds } from './site-lock';

/*
 * Visitor sets of aligned spans of days (migration 013): for each span of n days (n in SPAN_DAYS) starting on a day
 * whose number since 1970-01-01 is a multiple of n, the union of its days' visitor sets per (dimension, value) of
 * query_daily (not event:props:*, whose days without the key read the day's totals). A range's visitors are then
 * the union of a few spans (spanCover) and of the days at its edges, instead of one set per day.
 *
 * Consistency: buildQueryDay deletes every span containing the day it rebuilds, in its own transaction, and a span
 * is built under the same lock from what its days (or halves) hold: a span present is the union of its days' rows
 * present. Whether those days are still exact is the range's validity check (queryDaysValid), as for the days.
 */

/** Span lengths in days; 30 days are 4–8 spans and at most 2 edge days. */
export const SPAN_DAYS = [2, 4, 8, 16] as const;

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
const dayText = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);

export interface Span {
  firstDay: string;
  days: number;
}

/** The fewest aligned spans inside from..to (local days, both included), longest first where they fit; days no span covers are left to the caller. */
export function spanCover(from: string, to: string): Span[] {
  const spans: Span[] = [];
  const end = dayNumber(to);
  for (let day = dayNumber(from); day <= end; ) {
    const days = [...SPAN_DAYS].reverse().find((n) => day % n === 0 && day + n - 1 <= end);
    if (days === undefined) {
      day++;
      continue;
    }
    spans.push({ firstDay: dayText(day), days });
    day += days;
  }
  return spans;
}

/** SQL: the span in `alias` (first_day, days) contains the day `day` (an SQL date expression). */
export const spanHolds = (alias: string, day: string) => `${day} >= ${alias}.first_day AND ${day} < ${alias}.first_day + ${alias}.days`;

/** In a day's build transaction: the spans containing the day are no longer its union. */
export async function dropSpansOf(trx: Knex.Transaction, siteId: string, day: string): Promise<void> {
  const p = { site: siteId, day };
  await trx.raw(`DELETE FROM analytics.query_span_builds b WHERE b.site_id = :site AND ${spanHolds('b', ':day::date')}`, p);
  await trx.raw(`DELETE FROM analytics.query_spans s WHERE s.site_id = :site AND ${spanHolds('s', ':day::date')}`, p);
}

// Spans of n days (:n) not built yet, ended before the site's local today, whose days with events are all built
// and whose halves (n > 2) are built or hold no events.
const DUE_SQL = `
  WITH blocks AS (
    SELECT DISTINCT qd.site_id, qd.day - ((qd.day - DATE '1970-01-01') % :n::int) AS first_day
    FROM analytics.query_days qd WHERE (:site::text IS NULL OR qd.site_id = :site::text)
  )
  SELECT b.site_id, to_char(b.first_day, 'YYYY-MM-DD') AS first_day
  FROM blocks b LEFT JOIN analytics.sites s ON s.site_id = b.site_id
  WHERE b.first_day + :n::int <= (now() AT TIME ZONE coalesce(s.time_zone, 'UTC'))::date
    AND NOT EXISTS (SELECT 1 FROM analytics.query_span_builds x WHERE x.site_id = b.site_id AND x.first_day = b.first_day AND x.days = :n::int)
    AND NOT EXISTS (SELECT 1 FROM analytics.daily_event_counts c
                    WHERE c.site_id = b.site_id AND c.day >= b.first_day AND c.day < b.first_day + :n::int AND c.events > 0
                      AND NOT EXISTS (SELECT 1 FROM analytics.query_days qd WHERE qd.site_id = c.site_id AND qd.day = c.day))
    AND (:n::int = 2 OR NOT EXISTS (
          SELECT 1 FROM (VALUES (b.first_day), (b.first_day + :n::int / 2)) h(first_day)
          WHERE NOT EXISTS (SELECT 1 FROM analytics.query_span_builds x WHERE x.site_id = b.site_id AND x.first_day = h.first_day AND x.days = :n::int / 2)
            AND EXISTS (SELECT 1 FROM analytics.daily_event_counts c
                        WHERE c.site_id = b.site_id AND c.day >= h.first_day AND c.day < h.first_day + :n::int / 2 AND c.events > 0)))
  ORDER BY 1, 2`;

/** The job's step after the days: builds every due span, shortest first (so one step builds a whole chain); answers how many. */
export async function buildDueSpans(db: Knex, siteId?: string): Promise<number> {
  let built = 0;
  for (const n of SPAN_DAYS) {
    const due = await db.raw<{ rows: { site_id: string; first_day: string }[] }>(DUE_SQL, { site: siteId ?? null, n });
    for (const { site_id, first_day } of due.rows) built += await buildSpan(db, site_id, first_day, n);
  }
  return built;
}

async function buildSpan(db: Knex, siteId: string, firstDay: string, n: number): Promise<number> {
  return db.transaction(async (trx) => {
    await lockQueryBuilds(trx, siteId);
    const p = { site: siteId, first: firstDay, n };
    // Read committed under the lock: each statement sees every day build committed before it took the lock.
    const claimed = await trx.raw<{ rows: unknown[] }>(
      `INSERT INTO analytics.query_span_builds (site_id, first_day, days, built_at) VALUES (:site, :first::date, :n::int, now())
       ON CONFLICT DO NOTHING RETURNING 1`,
      p,
    );
    if (claimed.rows.length === 0) return 0;
    const parts = n === 2
      ? `SELECT dimension, value, uids FROM analytics.query_daily
         WHERE site_id = :site AND day >= :first::date AND day < :first::date + 2 AND events > 0 AND dimension NOT LIKE '${PROPS_PREFIX}%'`
      : `SELECT dimension, value, uids FROM analytics.query_spans
         WHERE site_id = :site AND days = :n::int / 2 AND first_day IN (:first::date, :first::date + :n::int / 2)`;
    await trx.raw(
      `INSERT INTO analytics.query_spans (site_id, first_day, days, dimension, value, uids)
       SELECT :site, :first::date, :n::int, dimension, value, analytics.uid_union(uids) FROM (${parts}) x GROUP BY dimension, value`,
      p,
    );
    return 1;
  });
}
