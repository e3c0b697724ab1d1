import { startIngestService } from '@sitestream/ingest';
import { createLogger, type Config } from '@sitestream/shared';
import { topicRecordCount } from '../helpers/kafka';
import { testConfig } from '../helpers/pipeline';
import { send, validEvent, type Sent } from './http';

type Ingest = Awaited<ReturnType<typeof startIngestService>> & { config: Config };

/**
 * Ingest's limits through real HTTP against the real broker. Rates are set so low (one token per 100 s) that no
 * token can come back during a test: what is refused does not depend on how fast the machine is.
 */
describe('ingest limits', () => {
  const started: Ingest[] = [];
  const start = async (overrides: Partial<Config>): Promise<Ingest> => {
    const config = testConfig({ KAFKA_TOPIC_PARTITIONS: 1, ...overrides });
    const service = Object.assign(await startIngestService(config, createLogger(config, 'ingest')), { config });
    started.push(service);
    return service;
  };
  afterAll(async () => {
    for (const s of started) await s.stop();
  });
  const post = (ingest: Ingest, body: unknown, path = '/event', headers: Record<string, string> = {}): Promise<Sent> =>
    send(`${ingest.url}${path}`, Buffer.from(JSON.stringify(body)), { 'content-type': 'application/json', ...headers });

  it('past INGEST_SITE_EVENTS_PER_SECOND, a site gets 429 with Retry-After per item, and other sites do not', async () => {
    const ingest = await start({ INGEST_SITE_EVENTS_PER_SECOND: 0.01 });
    const batch = await post(ingest, { events: Array.from({ length: 5 }, (_, i) => validEvent({ site_id: 'busy', user_id: `u${i}` })) }, '/events');
    expect(batch.status).toBe(207);
    expect(batch.body.results.map((r: { status: string; error?: { code: string } }) => r.error?.code ?? r.status)).toEqual([
      'accepted', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED',
    ]);
    expect(Number(batch.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const single = await post(ingest, validEvent({ site_id: 'busy' }));
    expect({ status: single.status, code: single.body.error.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(single.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const allLimited = await post(ingest, { events: [validEvent({ site_id: 'busy' })] }, '/events');
    expect(allLimited.status).toBe(429);
    expect(Number(allLimited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    expect((await post(ingest, validEvent({ site_id: 'quiet' }))).status).toBe(202);
    expect(await topicRecordCount(ingest.config, ingest.config.KAFKA_TOPIC)).toBe(2);
  });

  it('past INGEST_CLIENT_EVENTS_PER_SECOND, a client address gets 429, and another address does not', async () => {
    const ingest = await start({ INGEST_CLIENT_EVENTS_PER_SECOND: 0.01, TRUST_PROXY_HOPS: 1 });
    const from = (address: string) => ({ 'x-forwarded-for': address });
    expect((await post(ingest, validEvent(), '/event', from('203.0.113.1'))).status).toBe(202);
    const second = await post(ingest, validEvent(), '/event', from('203.0.113.1'));
    expect({ status: second.status, code: second.body.error.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect((await post(ingest, validEvent(), '/event', from('203.0.113.2'))).status).toBe(202);
  });

  it('past INGEST_NEW_SITES_PER_HOUR, a site_id never seen gets 429, while known sites go on', async () => {
    const ingest = await start({ INGEST_NEW_SITES_PER_HOUR: 3 });
    for (const site of ['s1', 's2', 's3']) expect((await post(ingest, validEvent({ site_id: site }))).status).toBe(202);
    const fourth = await post(ingest, validEvent({ site_id: 's4' }));
    expect({ status: fourth.status, code: fourth.body.error.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(60);
    expect((await post(ingest, validEvent({ site_id: 's2' }))).status).toBe(202);
  });

  it('with INGEST_SITES, only the listed sites are accepted (403 SITE_NOT_ALLOWED naming site_id)', async () => {
    const ingest = await start({ INGEST_SITES: 'site-abc-123, other-site' });
    expect((await post(ingest, validEvent())).status).toBe(202);
    const refused = await post(ingest, validEvent({ site_id: 'made-up' }));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'SITE_NOT_ALLOWED', details: [{ field: 'site_id' }] });
    expect(await topicRecordCount(ingest.config, ingest.config.KAFKA_TOPIC)).toBe(1);
  });
});
