import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../tests/helpers/test-database';
import { writeBatch } from './event-writer';
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

  it('when two writers race for the same partition, then exactly one batch is applied', async () => {
    const batch = input([record(0, event()), record(1, event())]);
    const results = await Promise.all([writeBatch(t.db, batch), writeBatch(t.db, batch)]);
    expect(results.map((r) => r.inserted).sort()).toEqual([0, 2]);
    expect(await count('analytics.website_events')).toBe(2);
  });
});
