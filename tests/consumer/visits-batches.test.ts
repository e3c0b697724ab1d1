import { writeBatch, type DecodedRecord } from '@sitestream/consumer';
import { rebuildRollups, setSiteTimeZone, VISIT_ATTRIBUTES } from '@sitestream/db';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { distinctEvents, seededRandom } from '../reporting/model';
import { sendOrders, visitDataset, VISIT_ZONES } from '../reporting/visits-dataset';
import { modelVisits, type ModelVisit } from '../reporting/visits-model';
import { storedVisits, visitTablesSnapshot } from '../reporting/visit-snapshot';

/**
 * Visits through the consumer's write path (writeBatch, the real database), with batch splits chosen to be
 * hard: one event per batch, a whole dataset in one batch, random sizes; in timestamp order, reversed, shuffled,
 * with a third re-sent. Every way gives the visits and day sums the model gives, and a rebuild changes nothing.
 */
describe('visits are exact whatever the order and the batches', () => {
  let database: TestDatabase;
  const splits: Record<string, (n: number, rnd: () => number) => number> = {
    single: () => 1,
    whole: (n) => n,
    random: (_n, rnd) => 1 + Math.floor(rnd() * 12),
  };
  const scenarios = Object.entries(splits).flatMap(([split, size]) =>
    Object.keys(sendOrders([])).map((order) => ({ split, size, order, prefix: `b-${split}-${order}` })),
  );
  const zonesOf = (prefix: string) => Object.fromEntries(Object.entries(VISIT_ZONES).map(([s, z]) => [`${prefix}-${s}`, z]));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.each(scenarios.map((s, index) => [s.prefix, s, index] as const))('%s: the stored visits and day sums are the model\'s', async (_name, s, index) => {
    const { db } = database;
    {
      for (const [site, zone] of Object.entries(zonesOf(s.prefix))) await setSiteTimeZone(db, site, zone);
      const sent = sendOrders(visitDataset(s.prefix))[s.order]!;
      const rnd = seededRandom(index + 1);
      const records: DecodedRecord[] = sent.map((e, offset) => ({ offset, raw: null, event: { ...e, received_at: e.timestamp } }));
      for (let i = 0; i < records.length; ) {
        const n = s.size(records.length, rnd);
        await writeBatch(db, { group: 'g', topic: 'visits', partition: index, records: records.slice(i, i + n) });
        i += n;
      }
      const expected = modelVisits(distinctEvents(sent), zonesOf(s.prefix));
      expect({ scenario: s.prefix, visits: await storedVisits(db, `${s.prefix}-`) }).toStrictEqual({ scenario: s.prefix, visits: expected });
      expect(await daySums(s.prefix)).toStrictEqual(modelDaySums(expected));
    }
  }, 120_000);

  it('the dataset has what it claims, and a rebuild (whole or a range) equals the live visits', async () => {
    const { db } = database;
    // The dataset is what it claims: merges, splits, bounces and view-less visits all occur.
    const visits = modelVisits(distinctEvents(visitDataset('x')), zonesOf('x'));
    const of = (user: string) => visits.filter((v) => v.user_id === user);
    expect(of('gap-under').map((v) => v.events)).toEqual([3]);
    expect(of('gap-exact').map((v) => v.events)).toEqual([2, 1]);
    expect(of('gap-over').map((v) => v.events)).toEqual([1, 1]);
    expect(of('bridge').map((v) => v.events)).toEqual([3]);
    expect(of('midnight-ist')[0]!.day).toBe('2025-11-15');
    expect(of('midnight-ny')[0]!.day).toBe('2025-03-08');
    expect(of('clicker')[0]!.entry_path).toBeNull();

    const live = await visitTablesSnapshot(db);
    await rebuildRollups(db);
    expect(await visitTablesSnapshot(db)).toStrictEqual(live);
    await rebuildRollups(db, { eventsPerTransaction: 10, from: '2025-11-16', to: '2025-11-16' });
    expect(await visitTablesSnapshot(db)).toStrictEqual(live);
  }, 120_000);

  it('the visits table has a nullable text column for every visit attribute', async () => {
    const columns = await database.db('information_schema.columns')
      .where({ table_schema: 'analytics', table_name: 'visits' })
      .select<{ column_name: string; data_type: string; is_nullable: string }[]>('column_name', 'data_type', 'is_nullable');
    const byName = new Map(columns.map((c) => [c.column_name, c]));
    for (const a of VISIT_ATTRIBUTES) expect({ a, ...byName.get(a) }).toEqual({ a, column_name: a, data_type: 'text', is_nullable: 'YES' });
  });

  it('moves visits to the days of a new zone, as the model does', async () => {
    const { db } = database;
    const prefix = 'b-zone';
    const records: DecodedRecord[] = visitDataset(prefix).map((e, offset) => ({ offset, raw: null, event: { ...e, received_at: e.timestamp } }));
    await writeBatch(db, { group: 'g', topic: 'visits', partition: 1000, records });
    await setSiteTimeZone(db, `${prefix}-utc`, 'Asia/Kolkata');
    const sent = visitDataset(prefix).filter((e) => e.site_id === `${prefix}-utc`);
    const expected = modelVisits(sent, { [`${prefix}-utc`]: 'Asia/Kolkata' });
    expect(await storedVisits(db, `${prefix}-utc`)).toStrictEqual(expected);
    expect(await daySums(`${prefix}-utc`)).toStrictEqual(modelDaySums(expected));
  });

  async function daySums(prefix: string): Promise<unknown[]> {
    const rows = await database.db.raw<{ rows: unknown[] }>(
      `SELECT site_id, to_char(day, 'YYYY-MM-DD') AS day, visits::int, bounces::int, pageviews::int, duration_us::text
       FROM analytics.daily_visits WHERE starts_with(site_id, ?) AND (visits, bounces, pageviews, duration_us) <> (0, 0, 0, 0)
       ORDER BY site_id COLLATE "C", day`,
      [prefix],
    );
    return rows.rows;
  }
});

function modelDaySums(visits: ModelVisit[]): unknown[] {
  const days = new Map<string, { site_id: string; day: string; visits: number; bounces: number; pageviews: number; duration_us: number }>();
  for (const v of visits) {
    const key = `${v.site_id} ${v.day}`;
    const d = days.get(key) ?? { site_id: v.site_id, day: v.day, visits: 0, bounces: 0, pageviews: 0, duration_us: 0 };
    d.visits++;
    d.bounces += v.events === 1 && v.pageviews === 1 ? 1 : 0;
    d.pageviews += v.pageviews;
    d.duration_us += (Date.parse(v.ended_at) - Date.parse(v.started_at)) * 1000;
    days.set(key, d);
  }
  return [...days.values()]
    .sort((a, b) => (a.site_id < b.site_id ? -1 : a.site_id > b.site_id ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0))
    .map((d) => ({ ...d, duration_us: String(d.duration_us) }));
}

