import type { Knex } from 'knex';

/**
 * Issue 14: per-day breakdowns for POST /api/v2/query, built for closed days by a background job (query-rollups.ts)
 * and never by the consumer: nothing is added to its write transaction. A day's rows are only used while the
 * consumer's own exact per-day counts (daily_event_counts) over the days its visits touch are what they were when
 * it was built (query_days), so late events, erasures and retention make it fall back to the raw tables until the
 * job rebuilds it.
 *
 * Visitors over several days are exact: each row keeps the sorted set of its visitors as per-site integers
 * (query_user_ids, keyed by the visitor hash of migration 007, never by the user id), and a range unions those sets
 * with intarray's C functions (a contrib extension, trusted since PostgreSQL 13). intarray lives in the analytics
 * schema so that its operators never replace the built-in int[] operators elsewhere.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS intarray SCHEMA analytics');
  await knex.raw('CREATE AGGREGATE analytics.uid_union(int4[]) (SFUNC = analytics._int_union, STYPE = int4[], INITCOND = \'{}\')');
  await knex.raw(`
    CREATE TABLE analytics.query_user_ids (
      site_id   VARCHAR(255) NOT NULL,
      user_hash BYTEA        NOT NULL,
      uid       INTEGER      NOT NULL,
      PRIMARY KEY (site_id, user_hash)
    )`);
  await knex.raw(`
    CREATE TABLE analytics.query_days (
      site_id       VARCHAR(255) NOT NULL,
      day           DATE         NOT NULL,
      time_zone     TEXT         NOT NULL,
      built_at      TIMESTAMPTZ  NOT NULL,
      window_from   DATE         NOT NULL,
      window_to     DATE         NOT NULL,
      window_events BIGINT       NOT NULL,
      PRIMARY KEY (site_id, day)
    )`);
  // A value may be a 2048-character referrer, too long for a btree key: the rows are found by (site, dimension,
  // day) and are unique by construction (one build per site and day, under a lock).
  await knex.raw(`
    CREATE TABLE analytics.query_daily (
      site_id     VARCHAR(255) NOT NULL,
      day         DATE         NOT NULL,
      dimension   TEXT         NOT NULL,
      value       TEXT         NOT NULL,
      visitors    INTEGER      NOT NULL,
      pageviews   BIGINT       NOT NULL,
      events      BIGINT       NOT NULL,
      visits      BIGINT       NOT NULL,
      bounces     BIGINT       NOT NULL,
      views       BIGINT       NOT NULL,
      duration_us BIGINT       NOT NULL,
      uids        INT4[]       NOT NULL
    )`);
  await knex.raw('CREATE INDEX query_daily_site_dimension_day_idx ON analytics.query_daily (site_id, dimension, day)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS analytics.query_daily');
  await knex.raw('DROP TABLE IF EXISTS analytics.query_days');
  await knex.raw('DROP TABLE IF EXISTS analytics.query_user_ids');
  await knex.raw('DROP AGGREGATE IF EXISTS analytics.uid_union(int4[])');
  await knex.raw('DROP EXTENSION IF EXISTS intarray');
}
