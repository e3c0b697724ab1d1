import { topicRecordCount } from '../helpers/kafka';
import { countRows } from '../helpers/test-database';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';

const valid = {
  site_id: 'site-abc-123',
  event_type: 'page_view',
  path: '/pricing',
  user_id: 'user-xyz-789',
  timestamp: '2025-11-16T10:00:00Z',
};

/** Invalid events and stats queries: 400 naming the field, and nothing reaches Kafka or PostgreSQL. */
describe('invalid input', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  beforeAll(async () => {
    pipeline = await startPipeline();
    auth = (await createTestKey(pipeline.db)).headers;
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const badEvents: [string, unknown, string][] = [
    ['missing site_id', { ...valid, site_id: undefined }, 'site_id'],
    ['empty path', { ...valid, path: '' }, 'path'],
    ['number user_id', { ...valid, user_id: 42 }, 'user_id'],
    ['null event_type', { ...valid, event_type: null }, 'event_type'],
    ['timestamp without offset', { ...valid, timestamp: '2025-11-16T10:00:00' }, 'timestamp'],
    ['impossible date', { ...valid, timestamp: '2025-02-30T10:00:00Z' }, 'timestamp'],
    ['unknown field', { ...valid, referrer: 'x' }, 'referrer'],
    ['event_type too long', { ...valid, event_type: 'x'.repeat(51) }, 'event_type'],
  ];
  it.each(badEvents)('when an event has %s, then 400 names the field', async (_name, body, field) => {
    const r = await postJson(`${pipeline.ingestUrl}/event`, body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_EVENT');
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('when several fields are bad, then each is named', async () => {
    const r = await postJson(`${pipeline.ingestUrl}/event`, { site_id: '', path: 7, user_id: 'u', timestamp: 'yesterday' });
    expect(r.status).toBe(400);
    const fields = r.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['event_type', 'path', 'site_id', 'timestamp']);
  });

  const badQueries: [string, string, string][] = [
    ['no site_id', 'date=2025-11-16', 'site_id'],
    ['no date', 'site_id=s', 'date'],
    ['malformed date', 'site_id=s&date=16-11-2025', 'date'],
    ['impossible date', 'site_id=s&date=2025-02-30', 'date'],
    ['unknown parameter', 'site_id=s&date=2025-11-16&top=5', 'top'],
    ['repeated parameter', 'site_id=a&site_id=b&date=2025-11-16', 'site_id'],
  ];
  it.each(badQueries)('when /stats has %s, then 400 names the field', async (_name, query, field) => {
    const r = await getJson(`${pipeline.reportingUrl}/stats?${query}`, auth);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_QUERY');
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('after all of that, nothing reached Kafka and nothing was stored', async () => {
    expect(await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC)).toBe(0);
    expect(await countRows(pipeline.db, 'analytics.website_events')).toBe(0);
  });
});
