import { isDataError, type Knex } from '@sitestream/shared';
import type { DecodedRecord, Poison } from './record-decoder';
import { applyRollups, ROLLUP_RETURNING, type InsertedEvent } from './rollups';

export interface BatchInput {
  group: string;
  topic: string;
  partition: number;
  /** In offset order, as Kafka delivered them. */
  records: DecodedRecord[];
}

export interface WriteResult {
  /** Rows actually inserted (not duplicates). */
  inserted: number;
  /** Events already stored under the same (site_id, event_id). */
  duplicates: number;
  /** Records below the stored position: replays of work already committed. */
  skipped: number;
  deadLettered: { offset: number; raw: Buffer | null; poison: Poison }[];
  /** Offsets missing between the stored position and the first record (0 when contiguous). */
  gap: number;
  /** Position after this batch, or undefined when nothing was new. */
  nextOffset: number | undefined;
}

/** Thrown when another member advanced the partition while we held it: our writes were rolled back. */
export class FencedError extends Error {
  constructor(topic: string, partition: number) {
    super(`partition ${topic}/${partition} was advanced by another consumer`);
    this.name = 'FencedError';
  }
}

/**
 * Writes one partition's batch exactly once. In a single transaction: lock the partition's stored position,
 * drop records below it, insert the rest (a repeated event_id is ignored), dead-letter poison records, and
 * advance the position only if it still holds the value we read. Either all of it commits or none does.
 */
export async function writeBatch(db: Knex, input: BatchInput): Promise<WriteResult> {
  const { group, topic, partition, records } = input;
  const first = records[0];
  const empty: WriteResult = { inserted: 0, duplicates: 0, skipped: records.length, deadLettered: [], gap: 0, nextOffset: undefined };
  if (!first) return empty;

  // The callback form: knex's manual commit() resolves even when COMMIT fails (knex #6141).
  return db.transaction(async (trx) => {
    await trx.raw(
      `INSERT INTO analytics.consumer_offsets (consumer_group, topic, "partition", next_offset)
       VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [group, topic, partition, first.offset],
    );
    const locked = await trx.raw<{ rows: { next_offset: number }[] }>(
      `SELECT next_offset FROM analytics.consumer_offsets
       WHERE consumer_group = ? AND topic = ? AND "partition" = ? FOR UPDATE`,
      [group, topic, partition],
    );
    const position = Number(locked.rows[0]!.next_offset);
    const fresh = records.filter((r) => r.offset >= position);
    if (fresh.length === 0) return empty;

    const deadLettered: WriteResult['deadLettered'] = [];
    const events: DecodedRecord[] = [];
    for (const r of fresh) {
      if (r.event) events.push(r);
      else deadLettered.push({ offset: r.offset, raw: r.raw, poison: r.poison! });
    }
    const { inserted, rejected } = await insertIsolatingBadRows(trx, events, partition);
    deadLettered.push(...rejected);
    if (deadLettered.length > 0) await insertDeadLetters(trx, topic, partition, deadLettered);

    const nextOffset = fresh[fresh.length - 1]!.offset + 1;
    const advanced = await trx.raw<{ rowCount: number }>(
      `UPDATE analytics.consumer_offsets SET next_offset = ?, updated_at = now()
       WHERE consumer_group = ? AND topic = ? AND "partition" = ? AND next_offset = ?`,
      [nextOffset, group, topic, partition, position],
    );
    if (advanced.rowCount !== 1) throw new FencedError(topic, partition);

    return {
      inserted,
      duplicates: events.length - inserted - rejected.length,
      skipped: records.length - fresh.length,
      deadLettered,
      gap: fresh[0]!.offset - position,
      nextOffset,
    };
  });
}

/**
 * Inserts all events in one statement. If PostgreSQL refuses the data of some row (SQLSTATE class 22/23),
 * halves the set inside savepoints until the offending rows are isolated; transient errors propagate.
 */
async function insertIsolatingBadRows(
  trx: Knex.Transaction,
  events: DecodedRecord[],
  partition: number,
): Promise<{ inserted: number; rejected: WriteResult['deadLettered'] }> {
  if (events.length === 0) return { inserted: 0, rejected: [] };
  try {
    const inserted = await trx.transaction((sp) => insertEvents(sp, events, partition));
    return { inserted, rejected: [] };
  } catch (err) {
    if (!isDataError(err)) throw err;
    if (events.length === 1) {
      const e = events[0]!;
      return { inserted: 0, rejected: [{ offset: e.offset, raw: e.raw, poison: { reason: 'database_rejected', error: describePgError(err) } }] };
    }
    const mid = Math.ceil(events.length / 2);
    const left = await insertIsolatingBadRows(trx, events.slice(0, mid), partition);
    const right = await insertIsolatingBadRows(trx, events.slice(mid), partition);
    return { inserted: left.inserted + right.inserted, rejected: [...left.rejected, ...right.rejected] };
  }
}

async function insertEvents(trx: Knex.Transaction, records: DecodedRecord[], partition: number): Promise<number> {
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
  const result = await trx.raw<{ rowCount: number; rows: InsertedEvent[] }>(
    `INSERT INTO analytics.website_events
       (site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset)
     SELECT s, t, p, u, ts, id, r, ?, o
     FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::uuid[], ?::timestamptz[], ?::bigint[])
       AS x(s, t, p, u, ts, id, r, o)
     ON CONFLICT (site_id, event_id) DO NOTHING
     RETURNING ${ROLLUP_RETURNING}`,
    [partition, cols.site, cols.type, cols.path, cols.user, cols.ts, cols.id, cols.received, cols.offset],
  );
  // Rollups move in this same transaction (and savepoint), counting only the rows inserted just now.
  await applyRollups(trx, result.rows);
  return result.rowCount;
}

async function insertDeadLetters(trx: Knex.Transaction, topic: string, partition: number, dead: WriteResult['deadLettered']): Promise<void> {
  await trx.raw(
    `INSERT INTO analytics.dead_letters (topic, "partition", "offset", reason, error, payload)
     SELECT ?, ?, o, r, e, decode(p, 'hex') FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[]) AS x(o, r, e, p)
     ON CONFLICT (topic, "partition", "offset") DO NOTHING`,
    [topic, partition, dead.map((d) => d.offset), dead.map((d) => d.poison.reason), dead.map((d) => d.poison.error), dead.map((d) => d.raw?.toString('hex') ?? '')],
  );
}

/**
 * PostgreSQL's own words: knex prefixes the message with the whole failing statement and its values ("<sql> - <message>"),
 * which cut at 300 characters left only SQL. The statement is ours and known; the message and detail say why.
 */
function describePgError(err: unknown): string {
  const e = err as { code?: string; message?: string; detail?: string };
  const message = e.message ?? '';
  const own = message.slice(message.lastIndexOf(' - ') + (message.includes(' - ') ? 3 : 0));
  return `${e.code ?? '?'}: ${own}${e.detail ? ` (${e.detail})` : ''}`.slice(0, 500);
}
