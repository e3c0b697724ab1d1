import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../tests/helpers/test-database';
import { waitFor } from '../../tests/helpers/wait-for';
import { FencedError, writeBatch } from './event-writer';
import { decodeRecord } from './record-decoder';

/** The exactly-once write path against a real PostgreSQL: replays, duplicates, fencing, poison. */
describe('writeBatch', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  const event = (overrides: Record<string, unknown> = {}) => ({
    event_id: randomUUID(),
    site_id: 's1',
    event_type: 'page_view',
    path: '/',
    user_id: 'u',
    timestamp: '2025-11-16T10:00:00Z',
    received_at: '2025-11-16T10:00:01Z',
    ...overrides,
  });
  const record = (offset: number, value: unknown) =>
    decodeRecord(String(offset), value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));
  const count = async (table: string) => Number((await t.db(table).count<{ n: number }[]>({ n: '*' }))[0]!.n);
  let group = 0;
  const input = (records: ReturnType<typeof record>[]) => ({ group: `g${group}`, topic: 't', partition: 0, records });
  const position = async (group: string) =>
    Number((await t.db('analytics.consumer_offsets').where({ consumer_group: group, topic: 't', partition: 0 }).first('next_offset'))!.next_offset);
  beforeEach(async () => {
    group++;
    await t.db.raw('TRUNCATE analytics.website_events, analytics.dead_letters, analytics.consumer_offsets');
  });

  it('when a batch is replayed, then nothing is written twice and the position holds', async () => {
    const batch = input([record(0, event()), record(1, event()), record(2, event())]);
    const first = await writeBatch(t.db, batch);
    expect(first).toMatchObject({ inserted: 3, skipped: 0, nextOffset: 3 });
    const again = await writeBatch(t.db, batch);
    expect(again).toMatchObject({ inserted: 0, skipped: 3, nextOffset: undefined });
    expect(await count('analytics.website_events')).toBe(3);
  });

  it('when a batch overlaps the stored position, then only the new records are written', async () => {
    await writeBatch(t.db, input([record(0, event()), record(1, event())]));
    const r = await writeBatch(t.db, input([record(1, event()), record(2, event()), record(3, event())]));
    expect(r).toMatchObject({ inserted: 2, skipped: 1, nextOffset: 4, gap: 0 });
  });

  it('when the same event_id arrives at another offset, then it is stored once', async () => {
    const e = event();
    const r = await writeBatch(t.db, input([record(0, e), record(1, e), record(2, { ...e, path: '/other' })]));
    expect(r).toMatchObject({ inserted: 1, duplicates: 2 });
    expect(await count('analytics.website_events')).toBe(1);
  });

  it('when offsets are missing before a batch, then the gap is reported', async () => {
    await writeBatch(t.db, input([record(0, event())]));
    const r = await writeBatch(t.db, input([record(5, event())]));
    expect(r.gap).toBe(4);
  });

  it('when records are poison, then they are dead-lettered and the good ones stored', async () => {
    const r = await writeBatch(
      t.db,
      input([record(0, event()), record(1, '{not json'), record(2, null), record(3, event({ path: '/a\u0000' })), record(4, event({ path: 'x'.repeat(2049) })), record(5, event())]),
    );
    expect(r.inserted).toBe(2);
    expect(r.deadLettered.map((d) => [d.offset, d.poison.reason])).toEqual([
      [1, 'invalid_json'],
      [2, 'empty'],
      [3, 'schema'],
      [4, 'schema'],
    ]);
    expect(await count('analytics.dead_letters')).toBe(4);
    expect(r.nextOffset).toBe(6);
  });

  it('when PostgreSQL refuses one row of a batch, then that row alone is dead-lettered', async () => {
    // Passes the schema but not the database: a timestamp PostgreSQL cannot represent.
    const bad = record(1, event());
    bad.event = { ...bad.event!, timestamp: '294277-01-01T00:00:00Z' };
    const r = await writeBatch(t.db, input([record(0, event()), bad, record(2, event()), record(3, event())]));
    expect(r.inserted).toBe(3);
    expect(r.deadLettered).toHaveLength(1);
    expect(r.deadLettered[0]!.poison.reason).toBe('database_rejected');
    // PostgreSQL's message, not the statement knex puts before it.
    expect(r.deadLettered[0]!.poison.error).toMatch(/^22008: .*out of range/);
    expect(r.deadLettered[0]!.poison.error).not.toMatch(/insert into/i);
  });

  it('when a position was stored for another Kafka cluster, then the batch is refused and nothing written', async () => {
    const first = { ...input([record(0, event()), record(1, event()), record(2, event())]), clusterId: 'cluster-A' };
    expect(await writeBatch(t.db, first)).toMatchObject({ inserted: 3, nextOffset: 3 });
    expect(await t.db('analytics.consumer_offsets').where({ consumer_group: first.group }).first('cluster_id')).toEqual({ cluster_id: 'cluster-A' });
    // Cluster B's topic starts at 0 again: applying A's position 3 would drop its offsets 0..2 as replays.
    const other = { ...input([record(0, event()), record(1, event())]), clusterId: 'cluster-B' };
    await expect(writeBatch(t.db, other)).rejects.toBeInstanceOf(FencedError);
    expect(await count('analytics.website_events')).toBe(3);
    expect(await position(first.group)).toBe(3);
  });

  it("when a new Kafka cluster's poison record sits at an offset an old cluster's dead letter holds, then both are kept", async () => {
    const a = { ...input([record(0, event()), record(1, '{not json')]), clusterId: 'cluster-A' };
    expect((await writeBatch(t.db, a)).deadLettered.map((d) => d.offset)).toEqual([1]);
    // The consumer found the stored position stale (another cluster) and reads B's log from its start.
    await t.db('analytics.consumer_offsets').where({ consumer_group: a.group }).update({ next_offset: 0, cluster_id: 'cluster-B' });
    const b = { ...input([record(0, event()), record(1, '{"site_id":')]), clusterId: 'cluster-B' };
    expect((await writeBatch(t.db, b)).deadLettered.map((d) => d.offset)).toEqual([1]);
    const rows = await t.db('analytics.dead_letters').orderBy('cluster_id').select('cluster_id', 'offset', 'payload');
    expect(rows.map((r) => [r.cluster_id, Number(r.offset), String(r.payload)])).toEqual([
      ['cluster-A', 1, '{not json'],
      ['cluster-B', 1, '{"site_id":'],
    ]);
  });

  it('when two writers race for the same partition, then exactly one batch is applied', async () => {
    const batch = input([record(0, event()), record(1, event())]);
    const results = await Promise.all([writeBatch(t.db, batch), writeBatch(t.db, batch)]);
    expect(results.map((r) => r.inserted).sort()).toEqual([0, 2]);
    expect(await count('analytics.website_events')).toBe(2);
  });

  /** Holds the partition's position row locked until release(), so writers queue behind it in a known order. */
  const holdPosition = async (group: string) => {
    const holder = new pg.Client({ connectionString: t.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`INSERT INTO analytics.consumer_offsets (consumer_group, topic, "partition", next_offset) VALUES ($1, 't', 0, 0)`, [group]);
    await holder.query('COMMIT');
    await holder.query('BEGIN');
    await holder.query(`SELECT * FROM analytics.consumer_offsets WHERE consumer_group = $1 FOR UPDATE`, [group]);
    const waiting = async (n: number) =>
      waitFor(
        async () => {
          const r = await holder.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
          return r.rows[0].n >= n;
        },
        { what: `${n} writer(s) waiting on a lock`, timeoutMs: 20_000, intervalMs: 20 },
      );
    return { waiting, release: async () => (await holder.query('COMMIT'), await holder.end()) };
  };

  it('when a stale member with a shorter batch loses the race, then it writes nothing and the position never moves back', async () => {
    // The winner holds offsets 0..3; the loser (a zombie) the first two of them. The loser queues second.
    const records = [0, 1, 2, 3].map((o) => record(o, event()));
    const winnerInput = input(records);
    const hold = await holdPosition(winnerInput.group);
    const winner = writeBatch(t.db, winnerInput);
    await hold.waiting(1);
    const loser = writeBatch(t.db, { ...winnerInput, records: records.slice(0, 2) });
    await hold.waiting(2);
    await hold.release();
    // Without the row lock the loser would get FencedError; without lock and compare-and-set it would set
    // the position back to 2 (and the next batch would replay 2..3).
    expect(await winner).toMatchObject({ inserted: 4, nextOffset: 4 });
    expect(await loser).toMatchObject({ inserted: 0, skipped: 2, nextOffset: undefined, deadLettered: [] });
    expect(await position(winnerInput.group)).toBe(4);
    expect(await count('analytics.website_events')).toBe(4);
  });

  it('when the position moved on inside the transaction, then the batch is fenced and all of it rolled back', async () => {
    // The row lock makes "another member advanced the partition while we held it" unreachable between two real
    // writers (previous test); here a trigger plays that member inside the writer's own transaction, so the
    // compare-and-set is what decides: FencedError, and no row, rollup or dead letter of the batch remains.
    const batchInput = input([record(0, event({ site_id: 'fenced-site' })), record(1, '{not json'), record(2, event({ site_id: 'fenced-site' }))]);
    await t.db.raw(`CREATE FUNCTION analytics.test_advance_position() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN UPDATE analytics.consumer_offsets SET next_offset = next_offset + 100 WHERE consumer_group = '${batchInput.group}'; RETURN NULL; END $$`);
    await t.db.raw(`CREATE TRIGGER test_advance_position AFTER INSERT ON analytics.website_events FOR EACH STATEMENT EXECUTE FUNCTION analytics.test_advance_position()`);
    try {
      await expect(writeBatch(t.db, batchInput)).rejects.toBeInstanceOf(FencedError);
    } finally {
      await t.db.raw('DROP TRIGGER test_advance_position ON analytics.website_events');
      await t.db.raw('DROP FUNCTION analytics.test_advance_position()');
    }
    expect(await count('analytics.website_events')).toBe(0);
    expect(await count('analytics.dead_letters')).toBe(0);
    expect(await t.db('analytics.daily_event_counts').where({ site_id: 'fenced-site' })).toEqual([]);
    expect(await t.db('analytics.consumer_offsets').where({ consumer_group: batchInput.group })).toEqual([]);
    // The same batch, unfenced, then applies in full: nothing of the fenced attempt was left half-done.
    expect(await writeBatch(t.db, batchInput)).toMatchObject({ inserted: 2, nextOffset: 3 });
  });
});
