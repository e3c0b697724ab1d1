import type { Knex } from './connection';

/**
 * The positions PostgreSQL holds for a consumer group: where each partition's next unwritten record is.
 * These, not Kafka's committed offsets, are the truth about what was written.
 */
export async function readPositions(db: Knex, group: string, topic: string, partitions: number[]): Promise<Map<number, number>> {
  const stored = await readStoredPositions(db, group, topic, partitions);
  return new Map([...stored].map(([partition, s]) => [partition, s.nextOffset]));
}

/** A stored position and the log it is an offset in. */
export interface StoredPosition {
  nextOffset: number;
  /** The Kafka cluster the position was read from; null on rows stored before migration 009. */
  clusterId: string | null;
}

/** The log a member reads now, as far as a position's validity is concerned. */
export interface LogIdentity {
  clusterId: string;
  /** The partition's high watermark: the offset its next record will get. */
  high: number;
}

export type PositionVerdict =
  /** The position is an offset in this log: continue there. */
  | { action: 'keep' }
  /** A row from before migration 009 whose position fits this log (the upgrade): record the cluster, keep the position. */
  | { action: 'adopt' }
  /** Nothing stored: the database holds nothing of this partition, so it is read from the log's start. */
  | { action: 'start' }
  /** The position belongs to another log: restart from this log's start. */
  | { action: 'reset'; reason: 'another_cluster' | 'beyond_high_watermark' };

/**
 * Whether a stored position may be used in the log a member reads now. An offset is only meaningful in the log it
 * was read from: a new cluster (a second clone, a removed Kafka data folder) numbers its topic from 0 again, and
 * seeking to the old position would skip every record below it. The cluster id tells clusters apart; a topic deleted
 * and recreated on the same cluster has no id that kafkajs 2.2.4 can read, but once it is shorter than the stored
 * position it shows: a position is the last written offset + 1, so in its own log it never exceeds the high
 * watermark (read after the position, the watermark only grew since).
 *
 * Restarting from the log's start is safe: the writer inserts with ON CONFLICT (site_id, event_id) DO NOTHING
 * (consumer event-writer.ts) and the rollups and visits count only the rows that statement inserted (rollups.ts
 * insertRolledUp), so an event the database already holds — a client's retry sent through the new cluster — is
 * skipped, never stored or counted twice. A wrong "reset" costs a re-read; a wrong "keep" loses records: when in
 * doubt, reset.
 */
export function judgePosition(stored: StoredPosition | undefined, log: LogIdentity): PositionVerdict {
  if (stored === undefined) return { action: 'start' };
  if (stored.clusterId !== null && stored.clusterId !== log.clusterId) return { action: 'reset', reason: 'another_cluster' };
  if (stored.nextOffset > log.high) return { action: 'reset', reason: 'beyond_high_watermark' };
  return { action: stored.clusterId === null ? 'adopt' : 'keep' };
}

/** Every stored position of these partitions, with the cluster it belongs to. */
export async function readStoredPositions(db: Knex, group: string, topic: string, partitions: number[]): Promise<Map<number, StoredPosition>> {
  if (partitions.length === 0) return new Map();
  const rows = await db('analytics.consumer_offsets')
    .where({ consumer_group: group, topic })
    .whereIn('partition', partitions)
    .select<{ partition: number; next_offset: number; cluster_id: string | null }[]>('partition', 'next_offset', 'cluster_id');
  return new Map(rows.map((r) => [Number(r.partition), { nextOffset: Number(r.next_offset), clusterId: r.cluster_id }]));
}

export interface PositionKey {
  group: string;
  topic: string;
  partition: number;
}

/**
 * Replaces a stored position, only if it still is `from` (compare-and-set): a member that advanced or rewrote it
 * meanwhile wins, and the caller judges again. Returns whether the row was rewritten.
 */
export async function rewritePosition(db: Knex, key: PositionKey, from: StoredPosition, to: StoredPosition): Promise<boolean> {
  const result = await db.raw<{ rowCount: number }>(
    `UPDATE analytics.consumer_offsets SET next_offset = ?, cluster_id = ?, updated_at = now()
     WHERE consumer_group = ? AND topic = ? AND "partition" = ? AND next_offset = ? AND cluster_id IS NOT DISTINCT FROM ?`,
    [to.nextOffset, to.clusterId, key.group, key.topic, key.partition, from.nextOffset, from.clusterId],
  );
  return result.rowCount === 1;
}
