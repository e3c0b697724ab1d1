import type { Knex } from 'knex';

/**
 * A stored position is an offset in one particular log, and an offset means nothing in another: a second clone or a
 * removed Kafka data folder starts a new cluster whose topic begins at 0 again. Each position now names the Kafka
 * cluster it was read from, so the consumer can tell (partition-positions.ts: judgePosition). Rows stored before this
 * migration have no cluster yet (NULL): the consumer adopts the current cluster for them when the position fits
 * within the partition's high watermark, and treats them as stale otherwise.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE analytics.consumer_offsets ADD COLUMN cluster_id TEXT');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE analytics.consumer_offsets DROP COLUMN IF EXISTS cluster_id');
}
