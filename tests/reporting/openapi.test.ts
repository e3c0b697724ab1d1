import { randomUUID } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { addEventFormats, openApiDocument } from '@sitestream/shared';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

const DOC_ID = 'https://sitestream.dev/openapi.json';

/** The response schema the document declares for an operation and status, compiled against the whole document. */
function responseValidator(ajv: Ajv, path: string, method: string, status: number): ValidateFunction {
  const pointer = `#/paths/${path.replace(/\//g, '~1')}/${method}/responses/${status}/content/application~1json/schema`;
  return ajv.compile({ $ref: `${DOC_ID}${pointer}` });
}

/**
 * The OpenAPI document against the real services: every response a client can get from the documented
 * operations validates against the schema the document gives for that status.
 */
describe('OpenAPI document', () => {
  let pipeline: Pipeline;
  let ajv: Ajv;
  let auth: Record<string, string>;
  let scoped: Record<string, string>;
  const seen: string[] = [];

  const check = (path: string, method: string, r: { status: number; body: unknown }) => {
    const validate = responseValidator(ajv, path, method, r.status);
    if (!validate(r.body)) throw new Error(`${method.toUpperCase()} ${path} ${r.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(r.body)}`);
    seen.push(`${method} ${path} ${r.status}`);
  };

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 20 });
    auth = (await createTestKey(pipeline.db)).headers;
    scoped = (await createTestKey(pipeline.db, { siteIds: ['only-this-site'] })).headers;
    // OpenAPI 3.1 schemas are JSON Schema; the keywords used here are ones draft-07 ajv knows too.
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    addEventFormats(ajv);
    ajv.addSchema(JSON.parse(JSON.stringify(openApiDocument)), DOC_ID);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('is served by reporting at /openapi.json, and every schema in it compiles', async () => {
    const r = await getJson(`${pipeline.reportingUrl}/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.body).toStrictEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(r.body.openapi).toMatch(/^3\./);
    for (const name of Object.keys(openApiDocument.components.schemas)) {
      expect(() => ajv.compile({ $ref: `${DOC_ID}#/components/schemas/${name}` })).not.toThrow();
    }
  });

  it('describes the ingest responses that ingest really gives', async () => {
    const event = { site_id: 'oa-site', event_type: 'page_view', path: '/x', user_id: 'u1', timestamp: '2025-11-16T10:00:00Z' };
    check('/event', 'post', await postJson(`${pipeline.ingestUrl}/event`, event));
    check('/event', 'post', await postJson(`${pipeline.ingestUrl}/event`, { ...event, path: '' }));
    check('/events', 'post', await postJson(`${pipeline.ingestUrl}/events`, { events: [{ ...event, event_id: randomUUID() }, { ...event, path: '/y' }] }));
    check('/events', 'post', await postJson(`${pipeline.ingestUrl}/events`, { events: [event, { ...event, user_id: 7 }] }));
    check('/events', 'post', await postJson(`${pipeline.ingestUrl}/events`, { events: [{ ...event, user_id: 7 }] }));
    check('/events', 'post', await postJson(`${pipeline.ingestUrl}/events`, { nope: [] }));
    // Bots: answered 202 "ignored", alone and as a batch item; never stored (the 4 rows below stay 4).
    const bot = { ...event, user_agent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', props: { plan: 'pro' } };
    const ignored = await postJson(`${pipeline.ingestUrl}/event`, bot);
    expect(ignored.body).toEqual({ status: 'ignored', reason: 'bot' });
    check('/event', 'post', ignored);
    check('/events', 'post', await postJson(`${pipeline.ingestUrl}/events`, { events: [bot, { ...event, user_id: 7 }] }));
    expect(seen).toEqual(['post /event 202', 'post /event 400', 'post /events 202', 'post /events 207', 'post /events 400', 'post /events 400', 'post /event 202', 'post /events 207']);
  });

  it('describes every /stats answer: day, range, 400, 401, 404 and 429', async () => {
    // Polled in the database: polling /stats would spend the key's small rate budget.
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === 4 || undefined, { what: 'the 4 accepted events stored' });
    const get = (query: string, headers = auth) => getJson(`${pipeline.reportingUrl}/stats?${query}`, headers);
    check('/stats', 'get', await get('site_id=oa-site&date=2025-11-16'));
    check('/stats', 'get', await get('site_id=oa-site&from=2025-11-01&to=2025-11-30&limit=2&offset=1'));
    check('/stats', 'get', await get('site_id=nobody&date=2025-11-16'));
    check('/stats', 'get', await get('site_id=oa-site&date=2025-11-16&limit=0'));
    check('/stats', 'get', await get('site_id=oa-site&date=2025-11-16', {}));
    check('/stats', 'get', await get('site_id=oa-site&date=2025-11-16', scoped));
    let r;
    do r = await get('site_id=only-this-site&date=2025-11-16', scoped);
    while (r.status === 200);
    check('/stats', 'get', r);
    expect(seen.filter((s) => s.startsWith('get /stats')).map((s) => s.slice(-3))).toEqual(['200', '200', '200', '400', '401', '404', '429']);
  });

  it('documents only operations the services serve', async () => {
    for (const [path, item] of Object.entries(openApiDocument.paths)) {
      const method = 'get' in item ? 'GET' : 'POST';
      // /metrics is served on the management listener only.
      const base = path === '/event' || path === '/events' ? pipeline.ingestUrl : path === '/metrics' ? pipeline.reportingManagementUrl : pipeline.reportingUrl;
      const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
      // Any answer but the catalog's "no such route" means the operation exists.
      expect({ path, missing: (await res.text()).includes('"NOT_FOUND"') }).toEqual({ path, missing: false });
    }
  });
});
