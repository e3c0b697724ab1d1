import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { rollupSnapshot } from './rollup-snapshot';
import { fixedDataset, ZONES } from './dataset';
import { addDays, distinctEvents, expectedDay, expectedRange, localDay, type Ev } from './model';
import { rebuildRollups, setSiteTimeZone } from '@sitestream/db';

/**
 * Exactness: /stats, read from rollups the consumer kept, against a model computed here from the events sent
 * (Intl's time zones, not PostgreSQL's): local days in four zones, DST days, duplicates, ranges over months.
 */
describe('rollups are exact', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  const sent = fixedDataset();
  const stored: Ev[] = distinctEvents(sent);
  const zones = { ...ZONES };
  const startedAt = Date.now();

  const stats = async (query: string) => {
    const r = await getJson(`${pipeline.reportingUrl}/stats?${query}`, auth);
    expect(r.status).toBe(200);
    const { data_as_of, ...rest } = r.body;
    return { body: rest as Record<string, unknown>, dataAsOf: data_as_of as string | null, keys: Object.keys(r.body) };
  };
  const siteDays = (site: string) => [...new Set(stored.filter((e) => e.site_id === site).map((e) => localDay(e.timestamp, zones[site]!)))].sort();

  beforeAll(async () => {
    // Hundreds of requests from one key: this test is about answers, not the rate limit.
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 100_000 });
    auth = (await createTestKey(pipeline.db)).headers;
    // Zones are set before any event arrives, so the consumer rolls every event up in its site's zone.
    for (const [site, zone] of Object.entries(ZONES)) if (zone !== 'UTC') await setSiteTimeZone(pipeline.db, site, zone);
    for (let i = 0; i < sent.length; i += 250) {
      const r = await postJson(`${pipeline.ingestUrl}/events`, { events: sent.slice(i, i + 250) });
      expect(r.status).toBe(202);
    }
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === stored.length || undefined, {
      what: `${stored.length} distinct events stored`,
    });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('the dataset exercises what it claims', () => {
    expect(sent.length - stored.length).toBeGreaterThan(50);
    // New York's 23-hour and 25-hour days both hold events of the model's own computation.
    expect(siteDays('site-ny')).toEqual(expect.arrayContaining(['2025-03-09', '2025-11-02']));
    // The same instant is a different day in Kolkata and in UTC.
    expect(localDay('2025-11-15T18:30:00Z', 'Asia/Kolkata')).toBe('2025-11-16');
    expect(localDay('2025-11-15T18:30:00Z', 'UTC')).toBe('2025-11-15');
    expect(localDay('2025-11-15T18:14:59Z', 'Asia/Kathmandu')).toBe('2025-11-15');
    expect(localDay('2025-11-02T06:30:00Z', 'America/New_York')).toBe('2025-11-02');
    const nyFallBack = expectedDay(stored, 'site-ny', 'America/New_York', '2025-11-02', 1000);
    expect(nyFallBack.top_paths.find((p) => p.path === '/dst')?.views).toBe(4);
    const nySpring = expectedDay(stored, 'site-ny', 'America/New_York', '2025-03-09', 1000);
    expect(nySpring.top_paths.find((p) => p.path === '/dst')?.views).toBe(4);
  });

  it.each(Object.keys(ZONES))('every local day of %s matches the model, seed fields first', async (site) => {
    const days = siteDays(site);
    expect(days.length).toBeGreaterThan(20);
    for (const date of [...days, addDays(days[0]!, -1), addDays(days[days.length - 1]!, 1)]) {
      const full = await stats(`site_id=${site}&date=${date}&limit=1000`);
      expect(full.body).toStrictEqual(expectedDay(stored, site, zones[site]!, date, 1000));
      const top10 = await stats(`site_id=${site}&date=${date}`);
      expect(top10.body).toStrictEqual(expectedDay(stored, site, zones[site]!, date));
    }
    const one = await stats(`site_id=${site}&date=${days[0]}`);
    expect(one.keys).toEqual(['site_id', 'date', 'total_views', 'unique_users', 'top_paths', 'total_events', 'event_types', 'time_zone', 'data_as_of', 'visits', 'bounce_rate', 'visit_duration', 'views_per_visit']);
    expect(Date.parse(one.dataAsOf!)).toBeGreaterThanOrEqual(startedAt - 1000);
  });

  it('pages of top paths are consecutive slices of one deterministic order, for a day and for a range', async () => {
    const site = 'site-kolkata';
    const zone = zones[site]!;
    const busiest = [...new Set(stored.filter((e) => e.site_id === site).map((e) => localDay(e.timestamp, zone)))]
      .map((d) => ({ d, n: expectedDay(stored, site, zone, d, 1000).top_paths.length }))
      .sort((a, b) => b.n - a.n)[0]!.d;
    const pagesOf = async (query: string, size: number, total: number) => {
      const pages: unknown[] = [];
      for (let offset = 0; offset < total + size; offset += size) {
        pages.push(...((await stats(`${query}&limit=${size}&offset=${offset}`)).body.top_paths as unknown[]));
      }
      return pages;
    };
    const day = expectedDay(stored, site, zone, busiest, 1000).top_paths;
    expect(day.length).toBeGreaterThan(3);
    expect(await pagesOf(`site_id=${site}&date=${busiest}`, 1, day.length)).toStrictEqual(day);
    const range = expectedRange(stored, site, zone, '2025-10-20', '2025-12-10', 1000).top_paths;
    expect(range.length).toBeGreaterThan(12);
    // Ties on the view count exist, so the order really depends on the path tie-break.
    expect(new Set(range.map((p) => p.views)).size).toBeLessThan(range.length);
    expect(await pagesOf(`site_id=${site}&from=2025-10-20&to=2025-12-10`, 4, range.length)).toStrictEqual(range);
  });

  it.each([
    ['site-ny', '2025-02-15', '2025-04-15'],
    ['site-ny', '2025-03-09', '2025-03-09'],
    ['site-kolkata', '2025-10-20', '2025-12-10'],
    ['site-kathmandu', '2025-11-01', '2025-11-30'],
    ['site-utc', '2025-01-01', '2026-01-01'],
    ['site-kolkata', '2025-02-28', '2025-03-01'],
  ])('the range %s %s..%s matches the model: users counted once, a point per day', async (site, from, to) => {
    const r = await stats(`site_id=${site}&from=${from}&to=${to}&limit=20`);
    const model = expectedRange(stored, site, zones[site]!, from, to, 20);
    expect(r.body).toStrictEqual(model);
    expect(r.keys).toEqual(['site_id', 'from', 'to', 'total_views', 'unique_users', 'top_paths', 'total_events', 'event_types', 'timeseries', 'time_zone', 'data_as_of', 'visits', 'bounce_rate', 'visit_duration', 'views_per_visit']);
    if (from !== to) {
      // Not the sum of the days: the test would be blind if every user were seen on one day only.
      const sumOfDays = model.timeseries.reduce((n, d) => n + d.unique_users, 0);
      expect(model.unique_users).toBeLessThan(sumOfDays);
    }
  });

  it('when the rollups are rebuilt from the raw table, whole or a few days per transaction, they equal the live ones', async () => {
    const live = await rollupSnapshot(pipeline.db);
    expect(live.length).toBeGreaterThan(1000);
    const summary = await rebuildRollups(pipeline.db);
    expect(summary.events).toBe(stored.length);
    expect(await rollupSnapshot(pipeline.db)).toStrictEqual(live);
    const chunked = await rebuildRollups(pipeline.db, { eventsPerTransaction: 20 });
    expect(chunked.transactions).toBeGreaterThan(40);
    expect(await rollupSnapshot(pipeline.db)).toStrictEqual(live);
    await rebuildRollups(pipeline.db, { siteId: 'site-ny', from: '2025-03-01', to: '2025-03-31' });
    expect(await rollupSnapshot(pipeline.db)).toStrictEqual(live);
  });

  it('when rollups were damaged, a ranged rebuild repairs exactly that range', async () => {
    const live = await rollupSnapshot(pipeline.db);
    await pipeline.db.raw(`UPDATE analytics.daily_event_counts SET events = events + 5 WHERE site_id = 'site-ny' AND day = '2025-03-09'`);
    await pipeline.db.raw(`DELETE FROM analytics.daily_users WHERE site_id = 'site-ny' AND day = '2025-03-10'`);
    expect(await rollupSnapshot(pipeline.db)).not.toStrictEqual(live);
    await rebuildRollups(pipeline.db, { siteId: 'site-ny', from: '2025-03-09', to: '2025-03-10' });
    expect(await rollupSnapshot(pipeline.db)).toStrictEqual(live);
  });

  it("when a site's zone changes, its days follow the new zone at once, and back", async () => {
    const before = await stats('site_id=site-utc&date=2025-11-16&limit=1000');
    const change = await setSiteTimeZone(pipeline.db, 'site-utc', 'asia/kathmandu');
    expect(change).toMatchObject({ previous: 'UTC', timeZone: 'Asia/Kathmandu', events: stored.filter((e) => e.site_id === 'site-utc').length });
    zones['site-utc'] = 'Asia/Kathmandu';
    for (const date of ['2025-11-15', '2025-11-16', '2025-11-17', '2025-03-09']) {
      expect((await stats(`site_id=site-utc&date=${date}&limit=1000`)).body).toStrictEqual(expectedDay(stored, 'site-utc', 'Asia/Kathmandu', date, 1000));
    }
    expect((await stats('site_id=site-utc&date=2025-11-16&limit=1000')).body).not.toStrictEqual(before.body);
    await setSiteTimeZone(pipeline.db, 'site-utc', 'UTC');
    zones['site-utc'] = 'UTC';
    expect((await stats('site_id=site-utc&date=2025-11-16&limit=1000')).body).toStrictEqual(before.body);
  });

  it('an unknown zone is refused and changes nothing', async () => {
    await expect(setSiteTimeZone(pipeline.db, 'site-ny', 'PST')).rejects.toThrow(/unknown time zone/);
    await expect(setSiteTimeZone(pipeline.db, 'site-ny', 'UTC+3')).rejects.toThrow(/unknown time zone/);
    expect((await stats('site_id=site-ny&date=2025-11-02')).body.time_zone).toBe('America/New_York');
  });
});
