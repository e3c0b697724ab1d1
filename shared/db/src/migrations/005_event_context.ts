import type { Knex } from 'knex';

/**
 * Issue 12: the context every event may carry, derived at ingest. All nullable and without defaults: in
 * PostgreSQL 11+ such an ADD COLUMN only writes the catalog (no table rewrite, no scan), so the ACCESS
 * EXCLUSIVE lock it takes is held for milliseconds even on a table of millions of rows (measured in
 * BENCHMARKS.md "Migration 005"). Rows written before stay valid: their context is NULL ("(not set)").
 * lock_timeout: if a long query holds the table, fail fast instead of queueing every writer behind us.
 * Lengths follow shared/src/event-context.ts (CONTEXT_LIMITS).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("SET LOCAL lock_timeout = '5s'");
  await knex.raw(`
    ALTER TABLE analytics.website_events
      ADD COLUMN hostname     VARCHAR(253),
      ADD COLUMN referrer     VARCHAR(2048),
      ADD COLUMN source       VARCHAR(255),
      ADD COLUMN utm_source   VARCHAR(255),
      ADD COLUMN utm_medium   VARCHAR(255),
      ADD COLUMN utm_campaign VARCHAR(255),
      ADD COLUMN utm_term     VARCHAR(255),
      ADD COLUMN utm_content  VARCHAR(255),
      ADD COLUMN browser      VARCHAR(100),
      ADD COLUMN os           VARCHAR(100),
      ADD COLUMN device       VARCHAR(100),
      ADD COLUMN country      CHAR(2),
      ADD COLUMN props        JSONB`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE analytics.website_events
      DROP COLUMN IF EXISTS hostname, DROP COLUMN IF EXISTS referrer, DROP COLUMN IF EXISTS source,
      DROP COLUMN IF EXISTS utm_source, DROP COLUMN IF EXISTS utm_medium, DROP COLUMN IF EXISTS utm_campaign,
      DROP COLUMN IF EXISTS utm_term, DROP COLUMN IF EXISTS utm_content, DROP COLUMN IF EXISTS browser,
      DROP COLUMN IF EXISTS os, DROP COLUMN IF EXISTS device, DROP COLUMN IF EXISTS country, DROP COLUMN IF EXISTS props`);
}
