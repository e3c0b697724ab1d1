import type { Knex } from 'knex';

/**
 * The dead-letter table becomes the outbox of the dead-letter topic: a row is written in the transaction that
 * moves past its record, and published to the topic afterwards, from the table (dead-letter-relay). Rows stored
 * before this migration whose reason was found before the transaction were published by the old flow; rows the
 * database refused may never have reached the topic, so they are published now (at worst a second copy, with
 * the same key).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE analytics.dead_letters ADD COLUMN published_at TIMESTAMPTZ');
  await knex.raw(`UPDATE analytics.dead_letters SET published_at = created_at WHERE reason <> 'database_rejected'`);
  await knex.raw('CREATE INDEX dead_letters_unpublished_idx ON analytics.dead_letters (id) WHERE published_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS analytics.dead_letters_unpublished_idx');
  await knex.raw('ALTER TABLE analytics.dead_letters DROP COLUMN IF EXISTS published_at');
}
