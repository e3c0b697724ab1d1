import type { Knex } from 'knex';

/**
 * Issue 14, visitors over many days: a range's visitors by page or referrer were the union of every day's visitor
 * set of every value — 30 sets a value for a month, each union step copying the growing set (885 ms and 1.15 s for
 * the bench's big site, the target 500). query_spans keeps the same unions for aligned spans of 2, 4, … days
 * (SPAN_DAYS in query-spans.ts), so a range is a few spans and the days left at its edges.
 *
 * A span is built from its days' query_daily rows (or its two halves), under the builds' lock, once every day of
 * it that has events is built; a day's build deletes the spans that contain it in the same transaction, so a span
 * present is always the union of its days' present rows. query_span_builds says which spans are built (a span
 * may have no rows: no events in its days).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE analytics.query_span_builds (
      site_id   VARCHAR(255) NOT NULL,
      first_day DATE         NOT NULL,
      days      SMALLINT     NOT NULL,
      built_at  TIMESTAMPTZ  NOT NULL,
      PRIMARY KEY (site_id, first_day, days)
    )`);
  await knex.raw(`
    CREATE TABLE analytics.query_spans (
      site_id   VARCHAR(255) NOT NULL,
      first_day DATE         NOT NULL,
      days      SMALLINT     NOT NULL,
      dimension TEXT         NOT NULL,
      value     TEXT         NOT NULL,
      uids      INT4[]       NOT NULL
    )`);
  await knex.raw('CREATE INDEX query_spans_site_span_idx ON analytics.query_spans (site_id, first_day, days, dimension)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS analytics.query_spans');
  await knex.raw('DROP TABLE IF EXISTS analytics.query_span_builds');
}
