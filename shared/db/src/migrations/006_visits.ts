import type { Knex } from 'knex';

/**
 * Visits (see visits.ts): one row per visit, keyed by its visitor and its first instant, with its local start
 * day, its counts, its entry and exit page and its first event's attributes; and their sums per site and start
 * day, so a range's visit metrics read days, not visits. Both are filled by the consumer and by a rebuild; rows
 * stored before this migration get their visits from `npm run admin -- rollups rebuild`.
 */
export async function up(knex: Knex): Promise<void> {
  // VISIT_ATTRIBUTES (visit-attributes.ts) as of this migration, written out: a released migration never changes.
  // A test checks that the table has a column for every name the list holds.
  const attributes = ['hostname', 'referrer', 'source', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'browser', 'os', 'device', 'country']
    .map((a) => `${a} TEXT,`)
    .join('\n      ');
  // Visits of one visitor never overlap, so no two start at the same instant: (site, user, start) is a key.
  // A visit is updated in place as late events extend it: free space on each page keeps those updates HOT.
  await knex.raw(`
    CREATE TABLE analytics.visits (
      site_id        VARCHAR(255)  NOT NULL,
      user_id        VARCHAR(255)  NOT NULL,
      started_at     TIMESTAMPTZ   NOT NULL,
      first_event_id UUID          NOT NULL,
      ended_at       TIMESTAMPTZ   NOT NULL,
      day            DATE          NOT NULL,
      events         INTEGER       NOT NULL,
      pageviews      INTEGER       NOT NULL,
      entry_at       TIMESTAMPTZ,
      entry_event_id UUID,
      entry_path     VARCHAR(2048),
      exit_at        TIMESTAMPTZ,
      exit_event_id  UUID,
      exit_path      VARCHAR(2048),
      ${attributes}
      PRIMARY KEY (site_id, user_id, started_at)
    ) WITH (fillfactor = 80)`);
  await knex.raw('CREATE INDEX visits_site_day_idx ON analytics.visits (site_id, day)');

  // Sums over the visits that start on a day: what /stats reads. duration_us is in microseconds (exact).
  await knex.raw(`
    CREATE TABLE analytics.daily_visits (
      site_id     VARCHAR(255) NOT NULL,
      day         DATE         NOT NULL,
      visits      BIGINT       NOT NULL,
      bounces     BIGINT       NOT NULL,
      pageviews   BIGINT       NOT NULL,
      duration_us BIGINT       NOT NULL,
      PRIMARY KEY (site_id, day)
    ) WITH (fillfactor = 80)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS analytics.daily_visits');
  await knex.raw('DROP TABLE IF EXISTS analytics.visits');
}
