import {
  applyRollups,
  classifyDbError,
  describeDbError,
  findErased,
  insertDeadLetters,
  insertRolledUp,
  LIVE_RETURNING,
  lockSitesForWrite,
  ROLLUP_RETURNING,
  type InsertedEvent,
  type Knex,
} from '@sitestream/db';
import { contextArrays, CONTEXT_SQL } from './context-columns';
import type { DecodedRecord, Poison } from './record-decoder';

export interface BatchInput {
  group: string;
  topic: string;
  partition: number;
  /**
   * The Kafka cluster the records were read from: the stored position must be an offset in that cluster's log
   * (position-check.ts made it so when the partition was assigned). The consumer always passes it; writers without a
   * Kafka (tests, benches) leave it out and the position is not compared.
   */
  clusterId?: string;
  /** In offset order, as Kafka delivered them. */
  records: DecodedRecord[];
}

export interface WriteResult {
  /** Rows actually inserted (not duplicates). */
  inserted: number;
  /** Events already stored under the same (site_id, event_id). */
  duplicates: number;
  /** Events a tombstone forbids storing: an erased visitor's, or a deleted site's (see @sitestream/db erasures). */
  erased: number;
  /** Records below the stored position: replays of work already committed. */
  skipped: number;
  deadLettered: { offset: number; raw: Buffer | null; recordTime?: string; poison: Poison }[];
  /** Offsets missing between the stored position and the first record (0 when contiguous). */
  gap: number;
  /** Position after this batch, or undefined when nothing was new. */
  nextOffset: number | undefined;
}

/**
 * Thrown when the stored position is not the one we hold: another member advanced it, or it is an offset in another
 * log than the one we read (not checked yet, or rewritten by a member of another cluster). Our writes were rolled back.
 */
export class FencedError extends Error {
  constructor(topic: string, partition: number, why = 'was advanced by another consumer') {
    super(`partition ${topic}/${partition} ${why}`);
    this.name = 'FencedError';
  }
}

/**
 * Writes one partition's batch exactly once. In a single transaction: lock the partition's stored position (which
 * must be an offset in the log the records come from), drop records below it, insert the rest (a repeated event_id is ignored), dead-letter poison records, and
 * advance the position only if it still holds the value we read. Either all of it commits or none does.
 */
export async function writeBatch(db: Knex, input: BatchInput): Promise<WriteResult> {
  const { group, topic, partition, clusterId, records } = input;
  const first = records[0];
  const empty: WriteResult = { inserted: 0, duplicates: 0, erased: 0, skipped: records.length, deadLettered: [], gap: 0, nextOffset: undefined };
  if (!first) return empty;

  // The callback form: knex's manual commit() resolves even when COMMIT fails (knex #6141).
  return db.transaction(async (trx) => {
    await trx.raw(
      `INSERT INTO analytics.consumer_offsets (consumer_group, topic, "partition", next_offset, cluster_id)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [group, topic, partition, first.offset, clusterId ?? null],
    );
    const locked = await trx.raw<{ rows: { next_offset: number; cluster_id: string | null }[] }>(
      `SELECT next_offset, cluster_id FROM analytics.consumer_offsets
       WHERE consumer_group = ? AND topic = ? AND "partition" = ? FOR UPDATE`,
      [group, topic, partition],
    );
    // An offset of another log would drop this log's records below it as replays: never use one.
    if (clusterId !== undefined && locked.rows[0]!.cluster_id !== clusterId) {
      throw new FencedError(topic, partition, `holds a position in another Kafka cluster's log (${locked.rows[0]!.cluster_id ?? 'none recorded'}, reading ${clusterId})`);
    }
    const position = Number(locked.rows[0]!.next_offset);
    const fresh = records.filter((r) => r.offset >= position);
    if (fresh.length === 0) return empty;

    const deadLettered: WriteResult['deadLettered'] = [];
    const events: DecodedRecord[] = [];
    for (const r of fresh) {
      if (r.event) events.push(r);
      else deadLettered.push({ offset: r.offset, raw: r.raw, recordTime: r.recordTime, poison: r.poison! });
    }
    const kept = await dropErased(trx, events);
    const { inserted, rejected } = await insertAndRollUp(trx, kept, partition);
    deadLettered.push(...rejected);
    // Every dead letter, found by the decoder or refused by PostgreSQL, goes to the table (the topic's outbox),
    // except a deleted site's from before its deletion.
    const storedDead = await insertDeadLetters(
      trx,
      topic,
      partition,
      deadLettered.map((d) => ({ offset: d.offset, reason: d.poison.reason, error: d.poison.error, payload: d.raw, recordTime: d.recordTime ?? new Date().toISOString() })),
      clusterId,
    );

    const nextOffset = fresh[fresh.length - 1]!.offset + 1;
    const advanced = await trx.raw<{ rowCount: number }>(
      `UPDATE analytics.consumer_offsets SET next_offset = ?, updated_at = now()
       WHERE consumer_group = ? AND topic = ? AND "partition" = ? AND next_offset = ?`,
      [nextOffset, group, topic, partition, position],
    );
    if (advanced.rowCount !== 1) throw new FencedError(topic, partition);

    return {
      inserted,
      duplicates: kept.length - inserted - rejected.length,
      erased: events.length - kept.length,
      skipped: records.length - fresh.length,
      deadLettered: deadLettered.filter((d) => storedDead.has(d.offset)),
      gap: fresh[0]!.offset - position,
      nextOffset,
    };
  });
}

/**
 * Takes the batch's sites in the lock protocol's shared mode (before any raw row is written, so an erasure cannot
 * slip between this check and the commit) and leaves out the events a tombstone forbids storing.
 */
async function dropErased(trx: Knex.Transaction, events: DecodedRecord[]): Promise<DecodedRecord[]> {
  const tombstoned = await lockSitesForWrite(trx, events.map((r) => r.event!.site_id));
  if (tombstoned.size === 0) return events;
  const candidates = events.filter((r) => tombstoned.has(r.event!.site_id));
  const erased = await findErased(trx, candidates.map((r) => r.event!));
  const drop = new Set(candidates.filter((_, i) => erased.has(i)));
  const kept = drop.size === 0 ? events : events.filter((r) => !drop.has(r));
  // A deleted site whose events arrive again after the deletion starts anew: its row is created now.
  const revived = candidates.filter((r) => !drop.has(r)).map((r) => r.event!.site_id);
  if (revived.length > 0) await lockSitesForWrite(trx, revived, true);
  return kept;
}

/**
 * Inserts the events, and moves the rollups and visits by exactly the rows inserted just now, in this transaction.
 * The common case is one statement (insertRolledUp) inside a savepoint. If PostgreSQL refuses the data of some row
 * (db-errors.ts: bad_data), the savepoint rolls it back, the offending rows are isolated (insertIsolatingBadRows)
 * and the rollups follow for the rows that went in, outside the savepoints, so a rollup failure fails the batch
 * instead of dead-lettering its events. Every other error propagates.
 */
async function insertAndRollUp(
  trx: Knex.Transaction,
  events: DecodedRecord[],
  partition: number,
): Promise<{ inserted: number; rejected: WriteResult['deadLettered'] }> {
  if (events.length === 0) return { inserted: 0, rejected: [] };
  const insert = insertStatement(events, partition, LIVE_RETURNING);
  try {
    const inserted = await trx.transaction((sp) => insertRolledUp(sp, insert.sql, insert.bindings));
    return { inserted, rejected: [] };
  } catch (err) {
    if (classifyDbError(err) !== 'bad_data') throw err;
  }
  const halves = events.length === 1 ? [events] : [events.slice(0, Math.ceil(events.length / 2)), events.slice(Math.ceil(events.length / 2))];
  const inserted: InsertedEvent[] = [];
  const rejected: WriteResult['deadLettered'] = [];
  for (const half of halves) {
    const part = await insertIsolatingBadRows(trx, half, partition);
    inserted.push(...part.inserted);
    rejected.push(...part.rejected);
  }
  await applyRollups(trx, inserted);
  return { inserted: inserted.length, rejected };
}

/**
 * Inserts all events in one statement. If PostgreSQL refuses the data of some row (db-errors.ts: bad_data),
 * halves the set inside savepoints until the offending rows are isolated; every other error propagates.
 * Returns the rows actually inserted (not duplicates), as the rollups need them.
 */
async function insertIsolatingBadRows(
  trx: Knex.Transaction,
  events: DecodedRecord[],
  partition: number,
): Promise<{ inserted: InsertedEvent[]; rejected: WriteResult['deadLettered'] }> {
  if (events.length === 0) return { inserted: [], rejected: [] };
  try {
    const { sql, bindings } = insertStatement(events, partition, ROLLUP_RETURNING);
    const inserted = await trx.transaction(async (sp) => (await sp.raw<{ rows: InsertedEvent[] }>(sql, bindings)).rows);
    return { inserted, rejected: [] };
  } catch (err) {
    if (classifyDbError(err) !== 'bad_data') throw err;
    if (events.length === 1) {
      const e = events[0]!;
      return { inserted: [], rejected: [{ offset: e.offset, raw: e.raw, recordTime: e.recordTime, poison: { reason: 'database_rejected', error: describeDbError(err) } }] };
    }
    const mid = Math.ceil(events.length / 2);
    const left = await insertIsolatingBadRows(trx, events.slice(0, mid), partition);
    const right = await insertIsolatingBadRows(trx, events.slice(mid), partition);
    return { inserted: [...left.inserted, ...right.inserted], rejected: [...left.rejected, ...right.rejected] };
  }
}

/** The batch INSERT of these events (a repeated (site_id, event_id) is skipped), returning `returning` per row inserted. */
function insertStatement(records: DecodedRecord[], partition: number, returning: string): { sql: string; bindings: Knex.RawBinding[] } {
  const n = records.length;
  const cols = {
    site: new Array<string>(n),
    type: new Array<string>(n),
    path: new Array<string>(n),
    user: new Array<string>(n),
    ts: new Array<string>(n),
    id: new Array<string>(n),
    received: new Array<string>(n),
    offset: new Array<number>(n),
  };
  records.forEach((r, i) => {
    const e = r.event!;
    cols.site[i] = e.site_id;
    cols.type[i] = e.event_type;
    cols.path[i] = e.path;
    cols.user[i] = e.user_id;
    cols.ts[i] = e.timestamp;
    cols.id[i] = e.event_id;
    cols.received[i] = e.received_at;
    cols.offset[i] = r.offset;
  });
  // One statement with one array parameter per column: no 65535-parameter limit, no giant VALUES list to plan.
  return {
    sql: `INSERT INTO analytics.website_events
       (site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset, ${CONTEXT_SQL.columns})
     SELECT s, t, p, u, ts, id, r, ?, o, ${CONTEXT_SQL.aliases}
     FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::uuid[], ?::timestamptz[], ?::bigint[], ${CONTEXT_SQL.unnestParams})
       AS x(s, t, p, u, ts, id, r, o, ${CONTEXT_SQL.aliases})
     ON CONFLICT (site_id, event_id) DO NOTHING
     RETURNING ${returning}`,
    bindings: [partition, cols.site, cols.type, cols.path, cols.user, cols.ts, cols.id, cols.received, cols.offset, ...contextArrays(records.map((r) => r.event!))],
  };
}
