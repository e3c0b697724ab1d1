import { randomUUID } from 'node:crypto';
import { rebuildRollups, setSiteTimeZone } from '@sitestream/db';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { rollupSnapshot } from '../reporting/rollup-snapshot';
import { addDays, expectedDay, localDay, seededRandom, type Ev } from '../reporting/model';
import { adminCli } from './admin';

/**
 * Retention: a site keeps today and N previous days of its zone. The run removes exactly the rows past the
 * horizon while the consumer writes; a site that keeps aggregates keeps its counts (and loses its per-user rows);
 * a site without retention loses nothing; a rebuild afterwards changes nothing.
 */
describe('retention', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  const zones: Record<string, string> = { 'ret-plain': 'UTC', 'ret-keep': 'Asia/Kolkata', 'ret-none': 'America/New_York' };
  const rnd = seededRandom(17);
  const now = Date.now();
  const events: Ev[] = [];
  for (const site of Object.keys(zones)) {
    for (let i = 0; i < 400; i++) {
      // Spread over the last 9 days, never in the future.
      const ts = new Date(now - 60_000 - Math.floor(rnd() * 9 * 86_400_000)).toISOString();
      const type = rnd() < 0.7 ? 'page_view' : 'click';
      events.push({ event_id: randomUUID(), site_id: site, event_type: type, path: `/p${Math.floor(rnd() * 8)}`, user_id: `u${Math.floor(rnd() * 40)}`, timestamp: ts });
    }
  }
  // A visit cut by the horizon (today − 3 in the site's zone; both zones have fixed offsets): 10 minutes before
  // it and 10 and 20 minutes after. Its surviving part must become a visit of its own.
  const offsets: Record<string, string> = { 'ret-plain': 'Z', 'ret-keep': '+05:30' };
  for (const site of ['ret-plain', 'ret-keep']) {
    const horizon = Date.parse(`${addDays(localDay(new Date(now).toISOString(), zones[site]!), -3)}T00:00:00${offsets[site]}`);
    for (const minutes of [-10, 10, 20]) {
      events.push({ event_id: randomUUID(), site_id: site, event_type: 'page_view', path: `/cut${minutes}`, user_id: 'crosser', timestamp: new Date(horizon + minutes * 60_000).toISOString() });
    }
  }
  const stats = async (site: string, date: string) => {
    const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=${site}&date=${date}&limit=1000`, auth);
    expect(r.status).toBe(200);
    const { data_as_of: _, ...rest } = r.body;
    return rest as Record<string, unknown>;
  };
  const rawCount = async (site: string) =>
    Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events WHERE site_id = ?', [site])).rows[0]!.n);

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 100_000 });
    auth = (await createTestKey(pipeline.db)).headers;
    for (const [s, z] of Object.entries(zones)) if (z !== 'UTC') await setSiteTimeZone(pipeline.db, s, z);
    for (let i = 0; i < events.length; i += 300) expect((await postJson(`${pipeline.ingestUrl}/events`, { events: events.slice(i, i + 300) })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === events.length, { timeoutMs: 30_000, what: 'the dataset stored' });
  }, 60_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('removes exactly the rows past each site\u2019s horizon while the consumer writes', async () => {
    const admin = adminCli(pipeline.config.DATABASE_URL);
    expect((await admin('sites', 'set-retention', 'ret-plain', '3')).code).toBe(0);
    expect((await admin('sites', 'set-retention', 'ret-keep', '3', '--keep-aggregates')).code).toBe(0);
    const refused = await admin('sites', 'set-retention', 'ret-none', 'zero');
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('must be a whole number of days');

    // New events keep arriving for today while retention runs.
    const live: Ev[] = [];
    let running = true;
    const writer = (async () => {
      while (running) {
        const e = { event_id: randomUUID(), site_id: 'ret-plain', event_type: 'page_view', path: '/live', user_id: `live${live.length % 5}`, timestamp: new Date().toISOString() };
        expect((await postJson(`${pipeline.ingestUrl}/event`, e)).status).toBe(202);
        live.push(e);
      }
    })();
    // The query API's days and spans of days (query-spans.ts) built before: retention must not leave spans behind.
    expect((await admin('rollups', 'build-query-days', '--site', 'ret-plain')).code).toBe(0);
    const before = Date.now();
    const run = await admin('retention', 'run');
    running = false;
    await writer;
    expect(run.code).toBe(0);
    expect(live.length).toBeGreaterThan(0);
    const liveStored = async () => Number((await pipeline.db.raw<{ rows: { n: number }[] }>(`SELECT count(*) AS n FROM analytics.website_events WHERE path = '/live'`)).rows[0]!.n);
    await waitFor(async () => (await liveStored()) === live.length, { timeoutMs: 20_000, what: 'live events stored' });

    const kept: Record<string, string> = {};
    for (const line of run.out.trim().split('\n')) {
      const m = /^(\S+): kept from (\d{4}-\d{2}-\d{2}) \(3 days\)/.exec(line);
      if (m) kept[m[1]!] = m[2]!;
    }
    expect(Object.keys(kept).sort()).toEqual(['ret-keep', 'ret-plain']);
    for (const site of ['ret-plain', 'ret-keep']) {
      // Today in the site's zone (the run may straddle a midnight), minus three days.
      expect([addDays(localDay(new Date(before).toISOString(), zones[site]!), -3), addDays(localDay(new Date().toISOString(), zones[site]!), -3)]).toContain(kept[site]);
    }

    const all = [...events, ...live];
    const of = (site: string) => all.filter((e) => e.site_id === site);
    const survives = (site: string) => of(site).filter((e) => localDay(e.timestamp, zones[site]!) >= kept[site]!);
    expect(await rawCount('ret-plain')).toBe(survives('ret-plain').length);
    expect(await rawCount('ret-keep')).toBe(survives('ret-keep').length);
    expect(await rawCount('ret-none')).toBe(of('ret-none').length);
    expect(survives('ret-plain').length).toBeLessThan(of('ret-plain').length);

    const daysOf = (site: string) => [...new Set(of(site).map((e) => localDay(e.timestamp, zones[site]!)))].sort();
    for (const date of daysOf('ret-plain')) expect(await stats('ret-plain', date)).toStrictEqual(expectedDay(survives('ret-plain'), 'ret-plain', 'UTC', date, 1000));
    // Kept aggregates: old days still answer with every event and visit they had; their per-user rows are gone.
    // From the horizon on, a visit cut by it counts as a visit of its own, as the surviving events alone make it.
    for (const date of daysOf('ret-keep')) {
      const basis = date < kept['ret-keep']! ? of('ret-keep') : survives('ret-keep');
      expect(await stats('ret-keep', date)).toStrictEqual(expectedDay(basis, 'ret-keep', zones['ret-keep']!, date, 1000));
    }
    const oldVisits = await pipeline.db.raw<{ rows: { n: number }[] }>(`SELECT count(*) AS n FROM analytics.visits WHERE site_id LIKE 'ret-%' AND site_id <> 'ret-none' AND day < ?::date`, [kept['ret-plain']!]);
    expect(oldVisits.rows[0]!.n).toBe(0);
    const oldUserRows = await pipeline.db.raw<{ rows: { n: number }[] }>(`SELECT count(*) AS n FROM analytics.daily_users WHERE site_id = 'ret-keep' AND day < ?::date`, [kept['ret-keep']!]);
    expect(oldUserRows.rows[0]!.n).toBe(0);
    for (const date of daysOf('ret-none')) expect(await stats('ret-none', date)).toStrictEqual(expectedDay(of('ret-none'), 'ret-none', zones['ret-none']!, date, 1000));

    // Visitors over the last 8 closed days, read from the per-day rows and spans rebuilt: only the surviving events.
    expect((await admin('rollups', 'build-query-days', '--site', 'ret-plain')).code).toBe(0);
    const today = localDay(new Date().toISOString(), 'UTC');
    const range: [string, string] = [addDays(today, -8), addDays(today, -1)];
    const inRange = survives('ret-plain').filter((e) => localDay(e.timestamp, 'UTC') >= range[0] && localDay(e.timestamp, 'UTC') <= range[1]);
    const asked = await postJson(`${pipeline.reportingUrl}/api/v2/query`, { site_id: 'ret-plain', metrics: ['visitors'], date_range: range }, auth);
    expect({ status: asked.status, plan: asked.headers.get('sitestream-query-plan'), results: asked.body.results })
      .toStrictEqual({ status: 200, plan: 'rollups', results: [{ dimensions: [], metrics: [new Set(inRange.map((e) => e.user_id)).size] }] });

    // A rebuild recomputes what raw rows remain and leaves the kept aggregates alone.
    const snapshot = await rollupSnapshot(pipeline.db);
    await rebuildRollups(pipeline.db);
    expect(await rollupSnapshot(pipeline.db)).toEqual(snapshot);

    const listed = await admin('sites', 'list');
    expect(listed.out).toMatch(/ret-keep {2}Asia\/Kolkata {2}retention 3 days \(aggregates kept\) {2}oldest event \d{4}-\d{2}-\d{2}T/);
  }, 120_000);
});
