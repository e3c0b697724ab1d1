import type { Knex } from 'knex';
import { ROLLUP_TABLES } from '../rollups';

/**
 * Sites with their time zone, and the rollups reporting reads instead of the raw table. A rollup day is the
 * calendar day in the site's zone; the consumer maintains the rollups in the same transaction as the raw rows
 * (rollups.ts), and `npm run admin -- rollups rebuild` recomputes them from the raw table.
 */
export async function up(knex: Knex): Promise<void> {
  // A CHECK needs an immutable function. A zone name is resolved against the server's tz database, which only
  // changes with a PostgreSQL upgrade; an unknown zone stored here would make every rollup of the site fail.
  await knex.raw(`
    CREATE FUNCTION analytics.is_time_zone(zone TEXT) RETURNS BOOLEAN
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
    BEGIN
      PERFORM TIMESTAMPTZ '2000-01-01 00:00:00+00' AT TIME ZONE zone;
      RETURN TRUE;
    EXCEPTION WHEN invalid_parameter_value THEN
      RETURN FALSE;
    END $$`);

  await knex.raw(`
    CREATE TABLE analytics.sites (
      site_id    VARCHAR(255) PRIMARY KEY,
      time_zone  TEXT        NOT NULL DEFAULT 'UTC' CONSTRAINT sites_time_zone_known CHECK (analytics.is_time_zone(time_zone)),
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);

  // Counters are updated in place many times a day: free space on each page lets those updates stay HOT.
  await knex.raw(`
    CREATE TABLE analytics.daily_event_counts (
      site_id    VARCHAR(255) NOT NULL,
      day        DATE         NOT NULL,
      event_type VARCHAR(50)  NOT NULL,
      events     BIGINT       NOT NULL,
      PRIMARY KEY (site_id, day, event_type)
    ) WITH (fillfactor = 80)`);

  // A path may be 2048 code points (8 kB of UTF-8), more than a btree entry can hold: the key is its SHA-256.
  await knex.raw(`
    CREATE TABLE analytics.daily_path_views (
      site_id   VARCHAR(255)  NOT NULL,
      day       DATE          NOT NULL,
      path_hash BYTEA         NOT NULL,
      path      VARCHAR(2048) NOT NULL,
      views     BIGINT        NOT NULL,
      PRIMARY KEY (site_id, day, path_hash)
    ) WITH (fillfactor = 80)`);

  // Exact distinct users: one row per user and day, so a range counts each user once.
  await knex.raw(`
    CREATE TABLE analytics.daily_users (
      site_id VARCHAR(255) NOT NULL,
      day     DATE         NOT NULL,
      user_id VARCHAR(255) NOT NULL,
      PRIMARY KEY (site_id, day, user_id)
    )`);

  // The number of rows of daily_users per site and day, kept so one day costs one row to read.
  await knex.raw(`
    CREATE TABLE analytics.daily_user_counts (
      site_id VARCHAR(255) NOT NULL,
      day     DATE         NOT NULL,
      users   BIGINT       NOT NULL,
      PRIMARY KEY (site_id, day)
    ) WITH (fillfactor = 80)`);

  // Freshness: per partition, the newest received_at among the events written (data_as_of is the minimum).
  await knex.raw(`
    CREATE TABLE analytics.partition_watermarks (
      kafka_partition INTEGER     PRIMARY KEY,
      max_received_at TIMESTAMPTZ NOT NULL,
      updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
    ) WITH (fillfactor = 50)`);

  // Rows stored before rollups existed: their sites have no zone yet, so their days are UTC days.
  await knex.raw(`
    INSERT INTO analytics.daily_event_counts (site_id, day, event_type, events)
    SELECT site_id, ("timestamp" AT TIME ZONE 'UTC')::date, event_type, count(*)
    FROM analytics.website_events GROUP BY 1, 2, 3`);
  await knex.raw(`
    INSERT INTO analytics.daily_path_views (site_id, day, path_hash, path, views)
    SELECT site_id, ("timestamp" AT TIME ZONE 'UTC')::date, sha256(convert_to(path, 'UTF8')), path, count(*)
    FROM analytics.website_events WHERE event_type = 'page_view' GROUP BY 1, 2, 4`);
  await knex.raw(`
    INSERT INTO analytics.daily_users (site_id, day, user_id)
    SELECT DISTINCT site_id, ("timestamp" AT TIME ZONE 'UTC')::date, user_id FROM analytics.website_events`);
  await knex.raw(`
    INSERT INTO analytics.daily_user_counts (site_id, day, users)
    SELECT site_id, day, count(*) FROM analytics.daily_users GROUP BY 1, 2`);
  await knex.raw(`
    INSERT INTO analytics.partition_watermarks (kafka_partition, max_received_at)
    SELECT kafka_partition, max(received_at) FROM analytics.website_events GROUP BY 1`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['partition_watermarks', ...ROLLUP_TABLES, 'sites']) {
    await knex.raw(`DROP TABLE IF EXISTS analytics.${table}`);
  }
  await knex.raw('DROP FUNCTION IF EXISTS analytics.is_time_zone(TEXT)');
}
