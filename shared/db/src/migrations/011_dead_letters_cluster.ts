import type { Knex } from 'knex';

/**
 * A dead letter is unique by its position, and a position is an offset in one Kafka cluster's log (migration 009):
 * keyed by (topic, partition, offset) alone, a poison record of a new cluster at an offset an old cluster's dead
 * letter already holds was dropped by ON CONFLICT DO NOTHING while the consumer moved past it — a dead letter
 * lost. The key now names the cluster. Rows from before this migration, and writers that do not know their
 * cluster, keep the empty cluster id: they conflict with each other as before.
 */
export async function up(knex: Knex): Promise<void> {
  // A constant default is stored in the catalog: no rewrite of the table.
  await knex.raw("ALTER TABLE analytics.dead_letters ADD COLUMN cluster_id TEXT NOT NULL DEFAULT ''");
  await knex.raw('ALTER TABLE analytics.dead_letters DROP CONSTRAINT dead_letters_position_uq');
  await knex.raw('ALTER TABLE analytics.dead_letters ADD CONSTRAINT dead_letters_position_uq UNIQUE (topic, "partition", "offset", cluster_id)');
}

export async function down(knex: Knex): Promise<void> {
  // Another cluster's rows at an already-held position cannot be kept under the old key: the oldest stays.
  await knex.raw(`DELETE FROM analytics.dead_letters d USING analytics.dead_letters o
                  WHERE d.topic = o.topic AND d."partition" = o."partition" AND d."offset" = o."offset" AND d.id > o.id`);
  await knex.raw('ALTER TABLE analytics.dead_letters DROP CONSTRAINT dead_letters_position_uq');
  await knex.raw('ALTER TABLE analytics.dead_letters DROP COLUMN cluster_id');
  await knex.raw('ALTER TABLE analytics.dead_letters ADD CONSTRAINT dead_letters_position_uq UNIQUE (topic, "partition", "offset")');
}
