import type { Knex } from './connection';

/**
 * Dead letters: records that can never be stored, kept with why. `analytics.dead_letters` is the truth and the
 * outbox of the dead-letter topic: every dead letter, whether the decoder found it before the transaction or
 * PostgreSQL refused it inside, is written here in the transaction that moves the partition past it, and only
 * then published from here (relayDeadLetters). A failed publish leaves the row unpublished for the next try, so
 * no dead letter can reach the table and miss the topic.
 */
interface DeadLetter {
  offset: number;
  reason: string;
  error: string;
  payload: Buffer | null;
}

export interface NewDeadLetter extends DeadLetter {
  /** When Kafka took the record (ISO 8601). */
  recordTime: string;
}

export interface StoredDeadLetter extends DeadLetter {
  id: number;
  topic: string;
  partition: number;
}

/**
 * Stores dead letters, except those of a deleted site taken by Kafka before its deletion (a replay must not bring
 * them back: see erasures.ts). `clusterId` is the Kafka cluster whose log the offsets are in (migration 011: another
 * cluster's dead letter at the same offset is another row). Returns the offsets stored now.
 */
export async function insertDeadLetters(trx: Knex.Transaction, topic: string, partition: number, dead: NewDeadLetter[], clusterId = ''): Promise<Set<number>> {
  if (dead.length === 0) return new Set();
  const stored = await trx.raw<{ rows: { offset: number }[] }>(
    `INSERT INTO analytics.dead_letters (topic, "partition", "offset", cluster_id, reason, error, payload)
     SELECT ?, ?, o, ?, r, e, decode(p, 'hex') FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::timestamptz[]) AS x(o, r, e, p, t)
     WHERE NOT EXISTS (
       SELECT 1 FROM analytics.erasures s
       WHERE s.user_hash IS NULL AND s.site_id = analytics.payload_site(decode(x.p, 'hex')) AND x.t < s.erased_at)
     ON CONFLICT (topic, "partition", "offset", cluster_id) DO NOTHING
     RETURNING "offset"`,
    [
      topic,
      partition,
      clusterId,
      dead.map((d) => d.offset),
      dead.map((d) => d.reason),
      dead.map((d) => d.error),
      dead.map((d) => d.payload?.toString('hex') ?? ''),
      dead.map((d) => d.recordTime),
    ],
  );
  return new Set(stored.rows.map((r) => Number(r.offset)));
}

/**
 * Hands up to `limit` unpublished dead letters, oldest first, to `publish`, and marks them published when it
 * resolves — all in one transaction whose row locks (SKIP LOCKED) keep two relays from publishing the same rows
 * at once. If `publish` throws, nothing is marked and the rows wait for the next call. A crash after a publish
 * and before the commit publishes them again: the topic gets each dead letter at least once, under a key that
 * names its position. Returns how many were published.
 */
export async function relayDeadLetters(db: Knex, limit: number, publish: (rows: StoredDeadLetter[]) => Promise<void>): Promise<number> {
  return db.transaction(async (trx) => {
    const claimed = await trx.raw<{ rows: { id: number; topic: string; partition: number; offset: number; reason: string; error: string; payload: Buffer | null }[] }>(
      `SELECT id, topic, "partition" AS partition, "offset" AS offset, reason, error, payload
       FROM analytics.dead_letters WHERE published_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    const rows = claimed.rows.map((r) => ({ ...r, id: Number(r.id), offset: Number(r.offset), payload: r.payload && r.payload.length > 0 ? r.payload : null }));
    if (rows.length === 0) return 0;
    await publish(rows);
    await trx.raw('UPDATE analytics.dead_letters SET published_at = now() WHERE id = ANY(?::bigint[])', [rows.map((r) => r.id)]);
    return rows.length;
  });
}
