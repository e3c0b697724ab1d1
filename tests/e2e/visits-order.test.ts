import { rebuildRollups, setSiteTimeZone } from '@sitestream/db';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { distinctEvents, type Ev } from '../reporting/model';
import { sendOrders, visitDataset, VISIT_ZONES } from '../reporting/visits-dataset';
import { modelVisitMetrics, modelVisits } from '../reporting/visits-model';
import { storedVisits, visitTablesSnapshot } from '../reporting/visit-snapshot';

/**
 * Visits through the whole pipeline (HTTP → Kafka → consumer → PostgreSQL → /stats): the fixed visit dataset,
 * sent in timestamp order, reversed, shuffled and with a third re-sent, one event per request and in batches.
 * Every way stores the model's visits and /stats answers the model's visit metrics; a rebuild changes nothing.
 */
describe('visits through the pipeline, whatever the arrival order', () => {
  let pipeline: Pipeline;
  let headers: Record<string, string>;
  const ways = [
    { order: 'ascending', batch: 1 },
    { order: 'reversed', batch: 50 },
    { order: 'shuffled', batch: 1 },
    { order: 'shuffled', batch: 17 },
    { order: 'resent', batch: 50 },
  ].map((w) => ({ ...w, prefix: `p-${w.order}-${w.batch}` }));
  const zonesOf = (prefix: string) => Object.fromEntries(Object.entries(VISIT_ZONES).map(([s, z]) => [`${prefix}-${s}`, z]));
  const allStored: Ev[] = [];

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 100_000 });
    headers = (await createTestKey(pipeline.db)).headers;
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  async function send(events: Ev[], batch: number): Promise<void> {
    for (let i = 0; i < events.length; i += batch) {
      const r = batch === 1 ? await postJson(`${pipeline.ingestUrl}/event`, events[i]) : await postJson(`${pipeline.ingestUrl}/events`, { events: events.slice(i, i + batch) });
      expect(r.status).toBe(202);
    }
  }

  it.each(ways.map((w) => [w.prefix, w] as const))('%s: stored visits and /stats equal the model', async (_name, way) => {
    const zones = zonesOf(way.prefix);
    for (const [site, zone] of Object.entries(zones)) await setSiteTimeZone(pipeline.db, site, zone);
    const sent = sendOrders(visitDataset(way.prefix))[way.order]!;
    const stored = distinctEvents(sent);
    allStored.push(...stored);
    await send(sent, way.batch);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === allStored.length || undefined, {
      what: `${allStored.length} distinct events stored`,
      timeoutMs: 60_000,
    });
    const expected = modelVisits(stored, zones);
    expect(await storedVisits(pipeline.db, `${way.prefix}-`)).toStrictEqual(expected);

    for (const [site, zone] of Object.entries(zones)) {
      const days = [...new Set(expected.filter((v) => v.site_id === site).map((v) => v.day))].sort();
      for (const date of days) {
        const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=${site}&date=${date}`, headers);
        expect({ site, date, ...pick(r.body) }).toStrictEqual({ site, date, ...modelVisitMetrics(expected, site, date, date) });
      }
      const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=${site}&from=2025-03-01&to=2025-11-30`, headers);
      expect(r.body.time_zone).toBe(zone);
      expect({ site, ...pick(r.body) }).toStrictEqual({ site, ...modelVisitMetrics(expected, site, '2025-03-01', '2025-11-30') });
    }
  }, 240_000);

  it('a rebuild gives the live visits back', async () => {
    expect(allStored.length).toBeGreaterThan(0);
    const live = await visitTablesSnapshot(pipeline.db);
    await rebuildRollups(pipeline.db);
    expect(await visitTablesSnapshot(pipeline.db)).toStrictEqual(live);
  }, 120_000);
});

function pick(body: Record<string, unknown>) {
  const { visits, bounce_rate, visit_duration, views_per_visit } = body;
  return { visits, bounce_rate, visit_duration, views_per_visit };
}
