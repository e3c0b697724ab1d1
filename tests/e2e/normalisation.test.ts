import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, createProducer } from '@sitestream/shared';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

/**
 * What is stored is what PostgreSQL and reporting count as one value: NFC and NFD spellings of a path are one
 * path; a record written before the ±15:59 offset rule (+16:00, which PostgreSQL refuses) is dead-lettered by the
 * consumer's schema check, before any insert is tried.
 */
describe('normalised events', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  beforeAll(async () => {
    pipeline = await startPipeline();
    auth = (await createTestKey(pipeline.db)).headers;
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('counts the NFC and NFD spellings of a path as one path', async () => {
    const event = { site_id: 'nfc-site', event_type: 'page_view', user_id: 'u1', timestamp: '2025-11-16T10:00:00Z' };
    const nfc = '/caf\u00e9';
    const nfd = '/cafe\u0301';
    expect(nfc).not.toBe(nfd);
    for (const path of [nfc, nfd]) expect((await postJson(`${pipeline.ingestUrl}/event`, { ...event, path })).status).toBe(202);
    const stats = await waitFor(
      async () => {
        const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=nfc-site&date=2025-11-16`, auth);
        return r.body.total_views === 2 ? r.body : undefined;
      },
      { what: 'both views counted', timeoutMs: 20_000 },
    );
    expect(stats.top_paths).toEqual([{ path: nfc, views: 2 }]);
  });

  it('dead-letters an old record with a +16:00 offset as a schema violation, before the database sees it', async () => {
    const logger = createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'test');
    const producer = createProducer(createKafka(pipeline.config, logger, 'test-old-records'));
    await producer.connect();
    const old = {
      event_id: randomUUID(),
      site_id: 'old-site',
      event_type: 'page_view',
      path: '/',
      user_id: 'u',
      timestamp: '2025-11-16T10:00:00+16:00',
      received_at: '2025-11-16T10:00:01.000Z',
    };
    try {
      await producer.send({ topic: pipeline.config.KAFKA_TOPIC, acks: -1, messages: [{ key: old.site_id, value: JSON.stringify(old) }] });
    } finally {
      await producer.disconnect();
    }
    const letter = await waitFor(
      async () => (await pipeline.db('analytics.dead_letters').where('payload', Buffer.from(JSON.stringify(old))).first()) as { reason: string; error: string } | undefined,
      { what: 'the dead letter', timeoutMs: 20_000 },
    );
    expect(letter.reason).toBe('schema');
    expect(letter.error).toMatch(/^timestamp /);
    expect(await countRows(pipeline.db, 'analytics.website_events')).toBe(2);
  });
});
