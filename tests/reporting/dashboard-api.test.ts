import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { buildStaleQueryDays, setSiteTimeZone } from '@sitestream/db';
import { addEventFormats, openApiDocument } from '@sitestream/shared';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

const DOC_ID = 'https://sitestream.dev/openapi.json';

/**
 * What the dashboard asks beside the query API, against the real services: GET /api/v2/sites (the sites a key
 * may read) and GET /api/v2/props (property keys seen in a range of the site's local days), each answer
 * checked against values written here by hand and against the OpenAPI document.
 */
describe('GET /api/v2/sites and GET /api/v2/props', () => {
  let pipeline: Pipeline;
  let all: Record<string, string>;
  let scoped: Record<string, string>;
  let ajv: Ajv;
  const seen: string[] = [];

  const get = async (path: string, headers: Record<string, string>) => {
    const r = await getJson(`${pipeline.reportingUrl}${path}`, headers);
    const operation = path.split('?')[0]!;
    const pointer = `#/paths/${operation.replace(/\//g, '~1')}/get/responses/${r.status}/content/application~1json/schema`;
    const validate: ValidateFunction = ajv.compile({ $ref: `${DOC_ID}${pointer}` });
    if (!validate(r.body)) throw new Error(`GET ${path} ${r.status}: ${ajv.errorsText(validate.errors)}\n${r.text}`);
    seen.push(`${operation} ${r.status}`);
    return r;
  };

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_KEY_MAX_CONCURRENT: 3 });
    all = (await createTestKey(pipeline.db)).headers;
    scoped = (await createTestKey(pipeline.db, { siteIds: ['sb', 'never-seen'] })).headers;
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    addEventFormats(ajv);
    ajv.addSchema(JSON.parse(JSON.stringify(openApiDocument)), DOC_ID);
    await setSiteTimeZone(pipeline.db, 'sa', 'Asia/Kolkata');
    // Kolkata is UTC+05:30: 18:00Z is 23:30 on Nov 1 there, 19:00Z is 00:30 on Nov 2.
    const event = (timestamp: string, props?: Record<string, unknown>, site = 'sa') => ({ site_id: site, event_type: 'signup', path: '/', user_id: 'u1', timestamp, ...(props ? { props } : {}) });
    const events = [
      event('2025-11-01T18:00:00Z', { early: 'yes', Zeta: 1 }), event('2025-11-01T19:00:00Z', { late: 'yes' }),
      event('2025-11-01T19:05:00Z'), event('2025-11-03T10:00:00Z', { early: 'no', 'ä-key': true }), event('2025-11-01T12:00:00Z', { other: 1 }, 'sb'),
    ];
    expect((await postJson(`${pipeline.ingestUrl}/events`, { events })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === events.length || undefined, { what: 'the events stored' });
  }, 120_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('lists every known site for a deployment-wide key, and a scoped key its own sites (with or without data)', async () => {
    expect((await get('/api/v2/sites', all)).body).toStrictEqual({
      sites: [{ site_id: 'sa', time_zone: 'Asia/Kolkata' }, { site_id: 'sb', time_zone: 'UTC' }], total: 2, limits: { concurrent_requests: 3 },
    });
    expect((await get('/api/v2/sites', scoped)).body).toStrictEqual({
      sites: [{ site_id: 'never-seen', time_zone: 'UTC' }, { site_id: 'sb', time_zone: 'UTC' }], total: 2, limits: { concurrent_requests: 3 },
    });
  });

  const keys = async (q: string, h = all) => (await get(`/api/v2/props?${q}`, h)).body.keys;
  const expectKeysAsSent = async () => {
    expect(await keys('site_id=sa&from=2025-11-01&to=2025-11-01')).toEqual(['Zeta', 'early']);
    expect(await keys('site_id=sa&from=2025-11-02&to=2025-11-02')).toEqual(['late']);
    expect(await keys('site_id=sa&from=2025-11-01&to=2025-11-03')).toEqual(['Zeta', 'early', 'late', 'ä-key']);
    expect(await keys('site_id=sb&from=2025-11-01&to=2025-11-01')).toEqual(['other']);
    expect(await keys('site_id=sa&from=2025-11-01&to=2025-11-03', scoped)).toEqual([]);
    expect(await keys('site_id=sb&from=2025-11-01&to=2025-11-01', scoped)).toEqual(['other']);
    expect(await keys('site_id=nobody&from=2025-11-01&to=2025-11-03')).toEqual([]);
  };

  it('lists the property keys of the site\'s local days, in code-point order; none outside the key\'s scope', async () => {
    await expectKeysAsSent();
  });

  it('reads the keys of days whose query rows are current from those rows, and of other days from their events', async () => {
    expect((await buildStaleQueryDays(pipeline.db)).days).toBeGreaterThan(0);
    await expectKeysAsSent();
    // Keys changed behind the rows' back (no count moves): a day read from its rows does not see them.
    await pipeline.db.raw(`UPDATE analytics.website_events SET props = '{"raw-only": 1}' WHERE site_id = 'sa' AND props ->> 'early' IS NOT NULL AND "timestamp" < '2025-11-02'`);
    expect(await keys('site_id=sa&from=2025-11-01&to=2025-11-01')).toEqual(['Zeta', 'early']);
    // A late event on Nov 1 (Kolkata) makes that day's rows stale: it is read from its events again.
    expect((await postJson(`${pipeline.ingestUrl}/event`, { site_id: 'sa', event_type: 'signup', path: '/', user_id: 'u2', timestamp: '2025-11-01T10:00:00Z', props: { newcomer: 1 } })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === 6 || undefined, { what: 'the late event stored' });
    expect(await keys('site_id=sa&from=2025-11-01&to=2025-11-01')).toEqual(['newcomer', 'raw-only']);
    expect(await keys('site_id=sa&from=2025-11-01&to=2025-11-03')).toEqual(['early', 'late', 'newcomer', 'raw-only', 'ä-key']);
  });

  it('refuses bad parameters 400 naming the field, and a missing key 401', async () => {
    const field = async (path: string) => {
      const r = await get(path, all);
      expect(r.status).toBe(400);
      return r.body.error.details.map((d: { field: string }) => d.field);
    };
    expect(await field('/api/v2/sites?site_id=sa')).toEqual(['site_id']);
    expect(await field('/api/v2/props?site_id=sa&from=2025-11-01')).toEqual(['to']);
    expect(await field('/api/v2/props?from=2025-11-01&to=2025-11-02')).toEqual(['site_id']);
    expect(await field('/api/v2/props?site_id=sa&from=2025-02-30&to=2025-03-01')).toEqual(['from']);
    expect(await field('/api/v2/props?site_id=sa&from=2025-11-02&to=2025-11-01')).toEqual(['to']);
    expect(await field('/api/v2/props?site_id=sa&from=2025-01-01&to=2026-01-02')).toEqual(['to']);
    expect(await field('/api/v2/props?site_id=sa&from=2025-11-01&to=2025-11-02&limit=3')).toEqual(['limit']);
    expect((await get('/api/v2/sites', {})).status).toBe(401);
    expect((await get('/api/v2/props?site_id=sa&from=2025-11-01&to=2025-11-02', { authorization: 'Bearer nope' })).status).toBe(401);
    expect(new Set(seen)).toEqual(new Set(['/api/v2/sites 200', '/api/v2/props 200', '/api/v2/sites 400', '/api/v2/props 400', '/api/v2/sites 401', '/api/v2/props 401']));
  });
});
