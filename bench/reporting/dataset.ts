import type { Knex } from '@sitestream/db';

/**
 * A realistic dataset written straight into analytics.website_events (no Kafka: the point is the size):
 * one big site with most of the traffic, many small sites, ~5k paths and ~200k users with skewed popularity,
 * 80% page views. Generated inside PostgreSQL from generate_series, one day at a time.
 */
export interface DatasetSpec {
  events: number;
  days: number;
  /** Share of events on the big site. */
  bigShare: number;
  smallSites: number;
  paths: number;
  users: number;
  firstDay: string;
}

export const BIG_SITE = 'big-site';
const VERSION = 2;

export function datasetSpec(events: number): DatasetSpec {
  // 10M: 16 days of 500k big-site events each. 1M: 2 days of 400k: the same shape, a shorter history.
  const days = events >= 10_000_000 ? 16 : events >= 1_000_000 ? 2 : 1;
  return { events, days, bigShare: 0.8, smallSites: 1000, paths: 5000, users: 200_000, firstDay: '2025-10-01' };
}

export function dayOf(spec: DatasetSpec, i: number): string {
  return new Date(Date.parse(spec.firstDay) + i * 86_400_000).toISOString().slice(0, 10);
}

/** True when the database already holds exactly this dataset (so a re-run skips the generation). */
export async function hasDataset(db: Knex, spec: DatasetSpec): Promise<boolean> {
  await db.raw('CREATE SCHEMA IF NOT EXISTS bench');
  await db.raw('CREATE TABLE IF NOT EXISTS bench.dataset (spec JSONB NOT NULL, generated_at TIMESTAMPTZ NOT NULL DEFAULT now())');
  const rows = await db.raw<{ rows: { same: boolean }[] }>('SELECT spec = ?::jsonb AS same FROM bench.dataset', [JSON.stringify({ ...spec, version: VERSION })]);
  return rows.rows.length === 1 && rows.rows[0]!.same;
}

export async function generateDataset(db: Knex, spec: DatasetSpec, log: (line: string) => void): Promise<void> {
  await db.raw('TRUNCATE analytics.website_events, analytics.daily_event_counts, analytics.daily_path_views, analytics.daily_users, analytics.daily_user_counts, analytics.partition_watermarks, analytics.sites, bench.dataset');
  const big = Math.round((spec.events * spec.bigShare) / spec.days);
  const small = Math.round((spec.events * (1 - spec.bigShare)) / spec.days);
  await db.transaction(async (trx) => {
    await trx.raw('SET LOCAL synchronous_commit = off');
    for (let i = 0; i < spec.days; i++) {
      const day = dayOf(spec, i);
      const started = Date.now();
      // Skew: path rank ~ paths·u³ and user ~ users·u² (u uniform): a few popular pages and users, a long tail.
      // Sites of the small ones ~ smallSites·u²: some small sites are much busier than others.
      await trx.raw(
        `INSERT INTO analytics.website_events
           (site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset)
         SELECT site, CASE WHEN r < 0.80 THEN 'page_view' WHEN r < 0.95 THEN 'click' ELSE 'scroll' END,
                '/p/' || floor(?::int * random() ^ 3)::int, 'u' || floor(?::int * random() ^ 2)::int,
                ts, gen_random_uuid(), ts + interval '1 second', abs(hashtext(site)) % 6, g
         FROM (
           SELECT g, random() AS r, ?::date::timestamp AT TIME ZONE 'UTC' + random() * interval '1 day' AS ts,
                  CASE WHEN g <= ?::int THEN ?::text ELSE 'site-' || lpad(floor(?::int * random() ^ 2)::int::text, 4, '0') END AS site
           FROM generate_series(1, ?::int) g
         ) x`,
        [spec.paths, spec.users, day, big, BIG_SITE, spec.smallSites, big + small],
      );
      log(`  day ${day}: ${big + small} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    // A tenth of the small sites keep their days in India: rollups in several zones, as in production.
    await trx.raw(
      `INSERT INTO analytics.sites (site_id, time_zone)
       SELECT 'site-' || lpad(k::text, 4, '0'), 'Asia/Kolkata' FROM generate_series(0, ?::int - 1, 10) k`,
      [spec.smallSites],
    );
    // What the consumer would have recorded: data_as_of is part of every answer.
    await trx.raw(
      `INSERT INTO analytics.partition_watermarks (kafka_partition, max_received_at)
       SELECT kafka_partition, max(received_at) FROM analytics.website_events GROUP BY 1`,
    );
    await trx.raw('INSERT INTO bench.dataset (spec) VALUES (?::jsonb)', [JSON.stringify({ ...spec, version: VERSION })]);
  });
}
