import { randomUUID } from 'node:crypto';
import { rebuildRollups } from '@sitestream/db';
import { postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

/**
 * A visit's attributes are its first event's (by timestamp), whatever arrives first: a late event that becomes
 * the visit's new first event brings its context along (issue 13 over the context of issue 12).
 */
describe('visit attributes follow the first event', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline();
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const visits = async () =>
    (await pipeline.db.raw<{ rows: Record<string, unknown>[] }>(
      `SELECT started_at, events, source, utm_source, utm_campaign, referrer, browser, os, device, country, hostname
       FROM analytics.visits WHERE site_id = 'attr-site' ORDER BY started_at`,
    )).rows;

  it('takes source, campaign, device and country from the earliest event, also when it arrives last', async () => {
    const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
    const base = Date.parse('2025-11-16T10:00:00Z');
    const ev = (minutes: number, extra: Record<string, unknown>) => ({
      event_id: randomUUID(), site_id: 'attr-site', event_type: 'page_view', path: `/m${minutes}`, user_id: 'v1',
      timestamp: new Date(base + minutes * 60_000).toISOString(), hostname: 'shop.example', ...extra,
    });
    const later = ev(10, { utm_source: 'newsletter', utm_campaign: 'winter', user_agent: chrome, ip: '81.2.69.142' });
    const earlier = ev(0, { referrer: 'https://www.google.com/search?q=x', user_agent: iphone, ip: '8.8.8.8' });
    expect((await postJson(`${pipeline.ingestUrl}/event`, later)).status).toBe(202);
    await waitFor(async () => (await visits()).length === 1, { timeoutMs: 20_000, what: 'the first visit' });
    expect(await visits()).toMatchObject([{ events: 1, source: 'newsletter', utm_source: 'newsletter', utm_campaign: 'winter', browser: 'Chrome', os: 'Windows', device: 'Desktop', country: 'GB' }]);

    expect((await postJson(`${pipeline.ingestUrl}/event`, earlier)).status).toBe(202);
    await waitFor(async () => (await visits())[0]?.events === 2, { timeoutMs: 20_000, what: 'the late event merged' });
    const expected = { events: 2, source: 'google.com', utm_source: null, utm_campaign: null, referrer: 'https://www.google.com/search', browser: 'Safari', os: 'iOS', device: 'Mobile', country: 'US', hostname: 'shop.example' };
    expect(await visits()).toMatchObject([expected]);
    // A rebuild from the raw rows gives the same attributes.
    await rebuildRollups(pipeline.db, { siteId: 'attr-site' });
    expect(await visits()).toMatchObject([expected]);
  }, 60_000);
});
