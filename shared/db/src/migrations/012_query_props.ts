import type { Knex } from 'knex';

/**
 * Issue 14, event:props:<key>: neither the per-day rows (008) nor the facts (010) held an event's custom
 * properties, so every breakdown or filter by one read the raw events (37 s for 30 days of the bench's big site).
 * Now a day's query_daily rows hold one dimension per property key seen that day (value: the key's shown value of
 * every event of the day, '(not set)' where an event lacks it), and each fact names its event's property set:
 * `event_props`, the query_strings integer of the set's canonical JSON text (0: no properties). query_props lists,
 * per set, each key and the integer of its shown value, so a filter or a dimension on a key is one small join.
 *
 * query_sites remembers when a site's values were last swept after an erasure (query-sweep.ts).
 *
 * Days built before this have neither: their validity rows are removed, so those days read raw until the job
 * rebuilds them (their old rows and facts are replaced by that build).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE analytics.query_props (
      site_id VARCHAR(255) NOT NULL,
      props   INTEGER      NOT NULL,
      key     TEXT         NOT NULL,
      value   INTEGER      NOT NULL,
      PRIMARY KEY (site_id, props, key)
    )`);
  // When the values no fact names any more were last deleted after an erasure (query-sweep.ts).
  await knex.raw(`
    CREATE TABLE analytics.query_sites (
      site_id  VARCHAR(255) PRIMARY KEY,
      swept_at TIMESTAMPTZ  NOT NULL
    )`);
  await knex.raw('DELETE FROM analytics.query_days');
  await knex.raw('TRUNCATE analytics.query_facts');
  // After site_id (not before it, where a fixed column is cheaper to read): only a props query reads it.
  await knex.raw('ALTER TABLE analytics.query_facts ADD COLUMN event_props INTEGER NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DELETE FROM analytics.query_days');
  await knex.raw('TRUNCATE analytics.query_facts');
  await knex.raw('ALTER TABLE analytics.query_facts DROP COLUMN IF EXISTS event_props');
  await knex.raw('DROP TABLE IF EXISTS analytics.query_sites');
  await knex.raw('DROP TABLE IF EXISTS analytics.query_props');
}
