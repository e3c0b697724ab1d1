import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { fixedDataset, ZONES } from './dataset';
import { distinctEvents, expectedRange, type Ev } from './model';
import { rollupSnapshot } from './rollup-snapshot';
import { visitTablesSnapshot } from './visit-snapshot';
import { rebuildRollups, setSiteTimeZone } from '@sitestream/db';

/**
 * `rollups rebuild` and `sites set-timezone` while the consumer writes the same sites: every event is still
 * counted exactly once, in its site's final zone (the site-row lock protocol of shared/db/src/site-lock.ts).
 */
describe('rebuilding while the consumer writes', () => {
  let pipeline: Pipeline;
  const sent = fixedDataset(7);
  const stored: Ev[] = distinctEvents(sent);
  const finalZones: Record<string, string> = { ...ZONES, 'site-utc': 'Asia/Kathmandu' };

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 100_000 });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('when rebuilds and a zone change run during ingestion, then the rollups equal a rebuild and the model', async () => {
    for (const [site, zone] of Object.entries(ZONES)) if (zone !== 'UTC') await setSiteTimeZone(pipeline.db, site, zone);
    let sending = true;
    const producer = (async () => {
      for (let i = 0; i < sent.length; i += 40) {
        const r = await postJson(`${pipeline.ingestUrl}/events`, { events: sent.slice(i, i + 40) });
        expect(r.status).toBe(202);
      }
      sending = false;
    })();

    // While events stream in: site-by-site rebuilds in small transactions, and a zone change once rows exist.
    let rebuilds = 0;
    let rebuiltWhileRowsArrived = 0;
    let zoneChanged = false;
    while (sending || rebuilds < 3) {
      const before = await countRows(pipeline.db, 'analytics.website_events');
      await rebuildRollups(pipeline.db, { eventsPerTransaction: 25 });
      rebuilds++;
      if ((await countRows(pipeline.db, 'analytics.website_events')) > before) rebuiltWhileRowsArrived++;
      if (!zoneChanged && before > 0) {
        await setSiteTimeZone(pipeline.db, 'site-utc', 'Asia/Kathmandu');
        zoneChanged = true;
      }
    }
    await producer;
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === stored.length || undefined, {
      what: `${stored.length} distinct events stored`,
    });
    // Otherwise the test proved nothing about concurrency.
    expect(zoneChanged).toBe(true);
    expect(rebuiltWhileRowsArrived).toBeGreaterThan(0);

    const live = await rollupSnapshot(pipeline.db);
    const liveVisits = await visitTablesSnapshot(pipeline.db);
    await rebuildRollups(pipeline.db);
    expect(await rollupSnapshot(pipeline.db)).toStrictEqual(live);
    expect(await visitTablesSnapshot(pipeline.db)).toStrictEqual(liveVisits);

    const { headers } = await createTestKey(pipeline.db);
    for (const [site, zone] of Object.entries(finalZones)) {
      for (const [from, to] of [['2025-02-15', '2025-04-15'], ['2025-10-19', '2025-12-11']] as const) {
        const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=${site}&from=${from}&to=${to}&limit=1000`, headers);
        expect(r.status).toBe(200);
        const { data_as_of: _, ...body } = r.body;
        expect(body).toStrictEqual(expectedRange(stored, site, zone, from, to, 1000));
      }
    }
  });
});
