import { randomUUID } from 'node:crypto';
import { startConsumerService } from '@sitestream/consumer';
import { createLogger } from '@sitestream/shared';
import { setSiteTimeZone } from '@sitestream/db';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { fixedDataset, ZONES } from '../reporting/dataset';
import { distinctEvents, expectedDay, expectedRange, localDay, type Ev } from '../reporting/model';
import { adminCli } from './admin';

/**
 * Erasure of one visitor (GDPR Art. 17): /stats equals the model of the dataset without that visitor, and neither
 * a replay of the whole topic, nor the visitor's events re-sent, brings anything of them back.
 */
describe('visitors erase', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  const site = 'site-kolkata';
  const zone = ZONES[site]!;
  const stored: Ev[] = distinctEvents(fixedDataset());
  // The busiest visitor of the site: seen on many days, so many rollup rows must change.
  const perUser = new Map<string, Set<string>>();
  for (const e of stored.filter((e) => e.site_id === site)) perUser.set(e.user_id, (perUser.get(e.user_id) ?? new Set()).add(localDay(e.timestamp, zone)));
  const [victim] = [...perUser.entries()].sort((a, b) => b[1].size - a[1].size)[0]!;
  const remaining = stored.filter((e) => !(e.site_id === site && e.user_id === victim));
  const days = [...new Set(stored.filter((e) => e.site_id === site).map((e) => localDay(e.timestamp, zone)))].sort();

  const stats = async (query: string) => {
    const r = await getJson(`${pipeline.reportingUrl}/stats?${query}`, auth);
    expect(r.status).toBe(200);
    const { data_as_of: _, ...rest } = r.body;
    return rest as Record<string, unknown>;
  };
  const rawOfVictim = async () =>
    Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events WHERE site_id = ? AND user_id = ?', [site, victim])).rows[0]!.n);
  const queryUid = async (user: string) => {
    const r = await pipeline.db.raw<{ rows: { uid: number }[] }>(
      `SELECT q.uid FROM analytics.query_user_ids q, analytics.visitor_hash_key k WHERE q.site_id = ? AND q.user_hash = analytics.visitor_hash(k.hash_key, ?, ?)`,
      [site, site, user],
    );
    return r.rows[0]?.uid ?? null;
  };
  const expectModel = async (events: Ev[]) => {
    for (const date of days) expect(await stats(`site_id=${site}&date=${date}&limit=1000`)).toStrictEqual(expectedDay(events, site, zone, date, 1000));
    expect(await stats(`site_id=${site}&from=${days[0]}&to=${days[days.length - 1]}&limit=1000`)).toStrictEqual(expectedRange(events, site, zone, days[0]!, days[days.length - 1]!, 1000));
  };

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 100_000 });
    auth = (await createTestKey(pipeline.db)).headers;
    for (const [s, z] of Object.entries(ZONES)) if (z !== 'UTC') await setSiteTimeZone(pipeline.db, s, z);
    const sent = fixedDataset();
    for (let i = 0; i < sent.length; i += 250) expect((await postJson(`${pipeline.ingestUrl}/events`, { events: sent.slice(i, i + 250) })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === stored.length, { timeoutMs: 45_000, what: 'the dataset stored' });
  }, 90_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('removes the visitor from every rollup, prints what it removed, and keeps only a hash', async () => {
    expect(perUser.get(victim)!.size).toBeGreaterThan(3);
    const removed = stored.filter((e) => e.site_id === site && e.user_id === victim);
    const admin = adminCli(pipeline.config.DATABASE_URL);
    // The query API's per-day rows and facts (every day of the dataset is closed), so its integer for the visitor exists.
    expect((await admin('rollups', 'build-query-days', '--site', site)).code).toBe(0);
    const victimUid = await queryUid(victim);
    expect(victimUid).not.toBeNull();
    const inSpans = async () =>
      Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM analytics.query_spans WHERE site_id = ? AND ? = ANY(uids)', [site, victimUid])).rows[0]!.n);
    // The visitor is also in the visitor sets of spans of days (query-spans.ts), which a rebuild of their days drops.
    expect(await inSpans()).toBeGreaterThan(0);
    const r = await admin('visitors', 'erase', '--site', site, '--user', victim);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${removed.length} events on ${perUser.get(victim)!.size} days`);
    expect(await rawOfVictim()).toBe(0);
    await expectModel(remaining);
    // Other sites untouched (the same user id elsewhere is another visitor).
    const other = 'site-utc';
    const otherDay = localDay(stored.find((e) => e.site_id === other)!.timestamp, 'UTC');
    expect(await stats(`site_id=${other}&date=${otherDay}&limit=1000`)).toStrictEqual(expectedDay(stored, other, 'UTC', otherDay, 1000));
    // The tombstone holds a keyed hash, not the user id.
    const tomb = await pipeline.db.raw<{ rows: { user_hash: Buffer }[] }>('SELECT user_hash FROM analytics.erasures WHERE site_id = ?', [site]);
    expect(tomb.rows).toHaveLength(1);
    expect(tomb.rows[0]!.user_hash.includes(Buffer.from(victim))).toBe(false);
    const perUserRows = await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.daily_users WHERE site_id = ? AND user_id = ?', [site, victim]);
    expect(perUserRows.rows[0]!.n).toBe(0);
    const visitsLeft = await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM analytics.visits WHERE site_id = ? AND user_id = ?', [site, victim]);
    expect(visitsLeft.rows[0]!.n).toBe(0);
    // Nor does the query API keep them: no integer for their hash, and once the days are rebuilt no row counts it.
    expect(await queryUid(victim)).toBeNull();
    expect((await admin('rollups', 'build-query-days', '--site', site)).code).toBe(0);
    const counted = await pipeline.db.raw<{ rows: { facts: number; daily: number }[] }>(
      `SELECT (SELECT count(*) FROM analytics.query_facts WHERE site_id = :site AND uid = :uid)::int AS facts,
              (SELECT count(*) FROM analytics.query_daily WHERE site_id = :site AND :uid = ANY(uids))::int AS daily`,
      { site, uid: victimUid },
    );
    expect(counted.rows[0]).toEqual({ facts: 0, daily: 0 });
    expect(await inSpans()).toBe(0);
  }, 90_000);

  it('a replay of the whole topic and the events re-sent do not bring the visitor back', async () => {
    // Rewind: every stored position back to 0, then a second member joins, so both seek to the database's positions.
    await pipeline.db.raw('UPDATE analytics.consumer_offsets SET next_offset = 0 WHERE consumer_group = ?', [pipeline.config.KAFKA_CONSUMER_GROUP]);
    const second = await startConsumerService({ ...pipeline.config, CONSUMER_PORT: 0 }, createLogger(pipeline.config, 'test-second'));
    try {
      const total = Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events')).rows[0]!.n);
      const ends = async () => Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT coalesce(sum(next_offset), 0) AS n FROM analytics.consumer_offsets')).rows[0]!.n);
      // Every record of the topic read again (records sent = positions summed).
      const sentCount = fixedDataset().length;
      await waitFor(async () => (await ends()) >= sentCount, { timeoutMs: 45_000, what: 'the whole topic replayed' });
      expect(Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events')).rows[0]!.n)).toBe(total);
    } finally {
      await second.stop();
    }
    // The visitor's events re-sent (same ids and new ids, timestamps from before the erasure) are dropped too.
    const again = stored.filter((e) => e.site_id === site && e.user_id === victim).slice(0, 20);
    const resent = [...again, ...again.map((e) => ({ ...e, event_id: randomUUID() }))];
    expect((await postJson(`${pipeline.ingestUrl}/events`, { events: resent })).status).toBe(202);
    // A marker after them on the same partition (same site): once it is stored, the re-sent events were processed.
    const marker = { event_id: randomUUID(), site_id: site, event_type: 'marker', path: '/marker', user_id: 'someone-else', timestamp: new Date().toISOString() };
    expect((await postJson(`${pipeline.ingestUrl}/event`, marker)).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) > remaining.length, { timeoutMs: 20_000, what: 'the marker stored' });
    expect(await rawOfVictim()).toBe(0);
    await expectModel(remaining);
    const metrics = await (await fetch(`${pipeline.consumerUrl}/metrics`)).text();
    const dropped = Number(/^sitestream_consumer_erased_events_dropped_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(dropped).toBeGreaterThanOrEqual(resent.length);
  }, 120_000);

  it('a visitor seen again after the erasure is a new visitor', async () => {
    const later = { event_id: randomUUID(), site_id: site, event_type: 'page_view', path: '/back', user_id: victim, timestamp: new Date().toISOString() };
    expect((await postJson(`${pipeline.ingestUrl}/event`, later)).status).toBe(202);
    await waitFor(async () => (await rawOfVictim()) === 1, { timeoutMs: 20_000, what: 'the new event stored' });
  }, 30_000);
});
