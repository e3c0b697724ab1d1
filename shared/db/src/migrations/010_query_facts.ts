import type { Knex } from 'knex';

/**
 * Issue 14, filtered queries: the per-day breakdowns of 008 hold one dimension each, so "visitors by source, only
 * Germany, only /blog" had to read every raw event of the range and join it to its visit. query_facts keeps, for
 * each closed local day, the day's events grouped by everything a filter or a dimension of event metrics can name:
 * the event's own values, its visit's values, its local hour and its visitor (the per-site integer of 008). Every
 * value is a per-site integer of query_strings (the shown value: '(not set)' and 'Direct / None' are strings like
 * any other), so a row is ~120 bytes instead of the ~350 of an event, and a filter is a set of integers found in
 * the site's strings. Built in the same snapshot as the day's query_daily rows, under the same validity check
 * (query_days.facts says the day has them: days built before this migration are rebuilt by the job).
 *
 * Strings are found by `hash`, the SHA-256 of the value's UTF-8 (a value may be a 2048-character referrer, too long for a btree
 * key); a crafted collision could only make a build fail (the unique index), never merge two values.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE analytics.query_strings (
      site_id VARCHAR(255) NOT NULL,
      id      INTEGER      NOT NULL,
      value   TEXT         NOT NULL,
      hash    BYTEA        NOT NULL,
      PRIMARY KEY (site_id, id),
      CONSTRAINT query_strings_hash_uq UNIQUE (site_id, hash)
    )`);
  await knex.raw('ALTER TABLE analytics.query_days ADD COLUMN facts BOOLEAN NOT NULL DEFAULT false');
  await knex.raw(`
    CREATE TABLE analytics.query_facts (
      day                DATE         NOT NULL,
      hour               SMALLINT     NOT NULL,
      uid                INTEGER      NOT NULL,
      events             INTEGER      NOT NULL,
      pageviews          INTEGER      NOT NULL,
      event_page         INTEGER      NOT NULL,
      event_name         INTEGER      NOT NULL,
      event_hostname     INTEGER      NOT NULL,
      visit_source       INTEGER      NOT NULL,
      visit_referrer     INTEGER      NOT NULL,
      visit_utm_source   INTEGER      NOT NULL,
      visit_utm_medium   INTEGER      NOT NULL,
      visit_utm_campaign INTEGER      NOT NULL,
      visit_utm_term     INTEGER      NOT NULL,
      visit_utm_content  INTEGER      NOT NULL,
      visit_browser      INTEGER      NOT NULL,
      visit_os           INTEGER      NOT NULL,
      visit_device       INTEGER      NOT NULL,
      visit_country      INTEGER      NOT NULL,
      visit_entry_page   INTEGER      NOT NULL,
      visit_exit_page    INTEGER      NOT NULL,
      -- Last: a variable-length column ends the fixed offsets PostgreSQL caches for the columns after it, and a
      -- filtered query reads millions of rows column by column (BENCHMARKS.md "Query API": first vs last).
      site_id            VARCHAR(255) NOT NULL
    )`);
  await knex.raw('CREATE INDEX query_facts_site_day_idx ON analytics.query_facts (site_id, day)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS analytics.query_facts');
  await knex.raw('ALTER TABLE analytics.query_days DROP COLUMN IF EXISTS facts');
  await knex.raw('DROP TABLE IF EXISTS analytics.query_strings');
}
