import type { Knex } from './connection';

/**
 * The positions PostgreSQL holds for a consumer group: where each partition's next unwritten record is.
 * These, not Kafka's committed offsets, are the truth about what was written.
 */
export async function readPositions(db: Knex, group: string, topic: string, partitions: number[]): Promise<Map<number, number>> {
  if (partitions.length === 0) return new Map();
  const rows = await db('analytics.consumer_offsets')
    .where({ consumer_group: group, topic })
    .whereIn('partition', partitions)
    .select<{ partition: number; next_offset: number }[]>('partition', 'next_offset');
  return new Map(rows.map((r) => [Number(r.partition), Number(r.next_offset)]));
}
