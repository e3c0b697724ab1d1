import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { addEventFormats, openApiDocument } from '@sitestream/shared';
import { createTestKey, postJson, type Pipeline } from '../helpers/pipeline';
import { EVENT_DIMS, EVENT_METRICS, RANGE, SITES, startQueryPipeline, TIME_DIMS, VISIT_DIMS, VISIT_METRICS } from '../helpers/query-pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { DIRECT, modelPage, modelQuery, NOT_SET, QUERY_ZONES, type ModelQuery, type QEv } from '../reporting/query-model';

/**
 * POST /api/v2/query through the whole pipeline (ingest → Kafka → consumer → PostgreSQL → reporting), every answer
 * compared with the model in query-model.ts over the events this test sent. Where each answer is read from (the
 * per-day rows and facts) is query-plans.test.ts.
 */
describe('POST /api/v2/query equals the model', () => {
  let pipeline: Pipeline;
  let headers: Record<string, string>;
  let events: QEv[];

  beforeAll(async () => {
    ({ pipeline, headers, events } = await startQueryPipeline());
  }, 150_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  const ask = (body: unknown, h = headers) => postJson(`${pipeline.reportingUrl}/api/v2/query`, body, h);
  async function expectModel(q: ModelQuery): Promise<any> {
    const r = await ask(q);
    expect({ q, status: r.status }).toStrictEqual({ q, status: 200 });
    const rows = r.body.results.map((x: any) => ({ dimensions: x.dimensions, metrics: x.metrics }));
    expect({ q, rows }).toStrictEqual({ q, rows: modelPage(events, q) });
    return r.body;
  }

  it('the dataset has what the checks need', () => {
    const rows = modelQuery(events, { site_id: 'q-ny', metrics: ['visits'], date_range: RANGE, dimensions: ['visit:source'] });
    expect(rows.map((r) => r.dimensions[0])).toEqual(expect.arrayContaining([DIRECT, 'google.com', 'Newsletter']));
    const countries = modelQuery(events, { site_id: 'q-ist', metrics: ['visitors'], date_range: RANGE, dimensions: ['visit:country'] });
    expect(countries.map((r) => r.dimensions[0])).toContain(NOT_SET);
  });

  it('no dimension: one row of every metric, with the zone and the resolved query', async () => {
    for (const site of SITES) {
      const body = await expectModel({ site_id: site, metrics: [...EVENT_METRICS, ...VISIT_METRICS], date_range: RANGE });
      expect(body.results).toHaveLength(1);
      expect(body.meta.time_zone).toBe(QUERY_ZONES[site]);
      expect(body.query).toMatchObject({ site_id: site, date_range: RANGE, order_by: [['visitors', 'desc']], pagination: { limit: 1000, offset: 0 } });
    }
    for (const metrics of [VISIT_METRICS, ['bounce_rate', 'visitors']]) await expectModel({ site_id: 'q-ist', metrics, date_range: RANGE });
    // A site without data: one row of zeros, null rates.
    const empty = await ask({ site_id: 'q-none', metrics: ['visitors', 'visits', 'bounce_rate'], date_range: RANGE });
    expect(empty.body.results).toStrictEqual([{ dimensions: [], metrics: [0, 0, null] }]);
  }, 60_000);

  it('event metrics by every dimension kind, visit metrics by every visit and time dimension', async () => {
    for (const site of SITES) {
      for (const d of [...EVENT_DIMS, ...VISIT_DIMS, ...TIME_DIMS]) await expectModel({ site_id: site, metrics: EVENT_METRICS, date_range: RANGE, dimensions: [d] });
      for (const d of [...VISIT_DIMS, ...TIME_DIMS]) await expectModel({ site_id: site, metrics: [...VISIT_METRICS, 'visitors'], date_range: RANGE, dimensions: [d] });
    }
  }, 120_000);

  it('several dimensions and every filter op, on event and visit values, with the shown values', async () => {
    const filters: [string, string, string[]][] = [
      ['is', 'visit:country', ['US', 'DE']], ['is_not', 'visit:country', ['US']], ['is', 'visit:country', [NOT_SET]],
      ['is', 'visit:source', [DIRECT]], ['contains', 'event:page', ['/blog']], ['contains_not', 'event:page', ['/blog', 'Doc']],
      ['contains', 'visit:utm_campaign', ['sale', 'bra']], ['is', 'event:props:plan', ['pro']], ['is_not', 'event:hostname', [NOT_SET]],
      ['contains', 'event:page', ['/docs']], // case-sensitive: /Docs does not match
    ];
    for (const site of SITES) {
      for (const f of filters) {
        await expectModel({ site_id: site, metrics: ['visitors', 'events', 'visits', 'bounce_rate'], date_range: RANGE, dimensions: ['visit:device'], filters: [f] });
        await expectModel({ site_id: site, metrics: ['events', 'visitors'], date_range: RANGE, dimensions: ['event:name', 'visit:browser'], filters: [f] });
      }
      await expectModel({ site_id: site, metrics: ['pageviews'], date_range: RANGE, dimensions: ['time:day', 'visit:source', 'event:page'],
        filters: [['is_not', 'visit:device', ['Tablet']], ['contains', 'event:page', ['/']]] });
    }
  }, 120_000);

  it('ordering, ties by dimension values in code-point order, and paging through every row', async () => {
    const base: ModelQuery = { site_id: 'q-utc', metrics: ['visitors', 'bounce_rate'], date_range: RANGE, dimensions: ['visit:entry_page', 'visit:os'] };
    for (const order_by of [undefined, [['bounce_rate', 'asc']], [['visit:os', 'desc'], ['visitors', 'asc']]] as ModelQuery['order_by'][]) {
      await expectModel({ ...base, ...(order_by ? { order_by } : {}) });
    }
    const all = modelQuery(events, base);
    expect(all.length).toBeGreaterThan(7);
    const seen: unknown[] = [];
    for (let offset = 0; offset < all.length + 3; offset += 3) {
      const body = await expectModel({ ...base, pagination: { limit: 3, offset }, include: { total_rows: true } } as ModelQuery);
      expect(body.meta.total_rows).toBe(all.length);
      seen.push(...body.results.map((r: any) => r.dimensions));
    }
    expect(seen).toStrictEqual(all.map((r) => r.dimensions));
  }, 60_000);

  it('comparison with the previous period: same number of days just before', async () => {
    const q: ModelQuery = { site_id: 'q-ny', metrics: ['visitors', 'visits'], date_range: ['2025-11-02', '2025-11-03'], dimensions: ['visit:entry_page', 'visit:device'] };
    const r = await ask({ ...q, include: { comparison: 'previous_period' } });
    expect(r.status).toBe(200);
    const previous = new Map(modelQuery(events, { ...q, date_range: ['2025-10-31', '2025-11-01'] }).map((x) => [JSON.stringify(x.dimensions), x.metrics]));
    const expected = modelQuery(events, q).map((row) => {
      const prev = previous.get(JSON.stringify(row.dimensions)) ?? [0, 0];
      return { ...row, comparison: { metrics: prev, change: row.metrics.map((c, i) => (prev[i] ? Math.round(((c! - prev[i]!) / prev[i]!) * 10_000) / 100 : null)) } };
    });
    // Both kinds: rows seen before (a change) and rows new in this period (no previous value: null).
    expect(expected.some((x) => x.comparison.change[0] === null) && expected.some((x) => x.comparison.change[0] !== null)).toBe(true);
    expect(r.body.results).toStrictEqual(expected);
    expect(r.body.meta.comparison_date_range).toStrictEqual(['2025-10-31', '2025-11-01']);

    // With a time:* dimension, a bucket is compared with the bucket at the same position of the previous period.
    const t: ModelQuery = { site_id: 'q-ny', metrics: ['visitors', 'pageviews'], date_range: ['2025-11-02', '2025-11-03'], dimensions: ['time:day', 'visit:device'] };
    const rt = await ask({ ...t, include: { comparison: 'previous_period' } });
    expect(rt.status).toBe(200);
    const shift = (day: string) => new Date(Date.parse(day) + 2 * 86_400_000).toISOString().slice(0, 10);
    const before = new Map(modelQuery(events, { ...t, date_range: ['2025-10-31', '2025-11-01'] }).map((x) => [JSON.stringify([shift(x.dimensions[0]!), x.dimensions[1]]), x.metrics]));
    const expectedT = modelQuery(events, t).map((row) => {
      const prev = before.get(JSON.stringify(row.dimensions)) ?? [0, 0];
      return { ...row, comparison: { metrics: prev, change: row.metrics.map((c, i) => (prev[i] ? Math.round(((c! - prev[i]!) / prev[i]!) * 10_000) / 100 : null)) } };
    });
    expect(expectedT.some((x) => x.comparison.change[0] !== null)).toBe(true);
    expect(rt.body.results).toStrictEqual(expectedT);
  }, 60_000);

  it('a key answers for a site outside its scope exactly as for a site without data', async () => {
    const scoped = (await createTestKey(pipeline.db, { siteIds: ['q-ist'] })).headers;
    const q = { metrics: ['visitors', 'visits'], date_range: RANGE, dimensions: ['visit:source'] };
    const inScope = await ask({ site_id: 'q-ist', ...q }, scoped);
    expect(inScope.body.results).toStrictEqual(modelQuery(events, { site_id: 'q-ist', ...q } as ModelQuery));
    const outside = await ask({ site_id: 'q-ny', ...q }, scoped);
    const unknown = await ask({ site_id: 'q-none', ...q }, scoped);
    expect(outside.status).toBe(200);
    expect(outside.body.results).toStrictEqual([]);
    expect({ ...outside.body, query: undefined }).toStrictEqual({ ...unknown.body, query: undefined });
  }, 30_000);

  it('CSV: the same rows under a header line', async () => {
    const q: ModelQuery = { site_id: 'q-ist', metrics: ['visitors', 'bounce_rate'], date_range: RANGE, dimensions: ['visit:utm_term'] };
    const res = await fetch(`${pipeline.reportingUrl}/api/v2/query`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', accept: 'text/csv' }, body: JSON.stringify(q) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = modelQuery(events, q).map((r) => [...r.dimensions, ...r.metrics.map((m) => (m === null ? '' : String(m)))].join(','));
    expect(await res.text()).toBe(['visit:utm_term,visitors,bounce_rate', ...lines].join('\r\n') + '\r\n');
  }, 30_000);

  it('bad queries are 400s naming the field', async () => {
    const good = { site_id: 'q-utc', metrics: ['visitors'], date_range: RANGE };
    const cases: [unknown, string, string][] = [
      [{ ...good, metrics: ['clicks'] }, 'INVALID_QUERY', 'metrics/0'],
      [{ ...good, metrics: [] }, 'INVALID_QUERY', 'metrics'],
      [{ ...good, dimensions: ['visit:planet'] }, 'INVALID_QUERY', 'dimensions/0'],
      [{ ...good, dimensions: ['event:page', 'event:name', 'visit:os', 'visit:device'] }, 'INVALID_QUERY', 'dimensions'],
      [{ ...good, filters: [['matches', 'event:page', ['/']]] }, 'INVALID_QUERY', 'filters/0/0'],
      [{ ...good, filters: [['is', 'time:day', ['2025-11-01']]] }, 'INVALID_QUERY', 'filters/0/1'],
      [{ ...good, filters: [['is', 'event:page', []]] }, 'INVALID_QUERY', 'filters/0/2'],
      [{ ...good, date_range: ['2025-02-30', '2025-03-01'] }, 'INVALID_QUERY', 'date_range/0'],
      [{ ...good, date_range: ['2025-03-02', '2025-03-01'] }, 'INVALID_QUERY', 'date_range/1'],
      [{ ...good, date_range: ['2024-01-01', '2025-03-01'] }, 'INVALID_QUERY', 'date_range'],
      [{ ...good, date_range: 'week' }, 'INVALID_QUERY', 'date_range'],
      [{ ...good, pagination: { limit: 10_001 } }, 'INVALID_QUERY', 'pagination/limit'],
      [{ ...good, pagination: { limit: 0 } }, 'INVALID_QUERY', 'pagination/limit'],
      [{ ...good, pagination: { offset: -1 } }, 'INVALID_QUERY', 'pagination/offset'],
      [{ ...good, order_by: [['visits', 'desc']] }, 'INVALID_QUERY', 'order_by/0/0'],
      [{ ...good, site_id: undefined }, 'INVALID_QUERY', 'site_id'],
      [{ ...good, colour: 'red' }, 'INVALID_QUERY', 'colour'],
      [{ ...good, metrics: ['visits'], dimensions: ['event:page'] }, 'UNSUPPORTED_COMBINATION', 'dimensions'],
    ];
    for (const [body, code, field] of cases) {
      const r = await ask(body);
      expect({ body, status: r.status, code: r.body.error.code, fields: r.body.error.details.map((d: any) => d.field) })
        .toStrictEqual({ body, status: 400, code, fields: expect.arrayContaining([field]) });
    }
    const broken = await ask('{"site_id":');
    expect([broken.status, broken.body.error.code]).toStrictEqual([400, 'INVALID_JSON']);
    expect((await ask(good, {})).status).toBe(401);
  }, 30_000);

  it('realtime: distinct visitors with an event in the last 5 minutes', async () => {
    const now = Date.now();
    const recent = [
      { site_id: 'q-rt', event_type: 'page_view', path: '/', user_id: 'a', timestamp: new Date(now - 60_000).toISOString() },
      { site_id: 'q-rt', event_type: 'click', path: '/', user_id: 'a', timestamp: new Date(now - 30_000).toISOString() },
      { site_id: 'q-rt', event_type: 'page_view', path: '/', user_id: 'b', timestamp: new Date(now - 120_000).toISOString() },
      { site_id: 'q-rt', event_type: 'page_view', path: '/', user_id: 'old', timestamp: new Date(now - 3_600_000).toISOString() },
    ];
    expect((await postJson(`${pipeline.ingestUrl}/events`, { events: recent })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === events.length + recent.length || undefined, { what: 'recent events stored', timeoutMs: 30_000 });
    const res = await fetch(`${pipeline.reportingUrl}/api/v2/realtime?site_id=q-rt`, { headers });
    const body = JSON.parse(await res.text());
    expect(res.status).toBe(200);
    expect(body.visitors).toBe(2);
    expect(typeof body.data_as_of).toBe('string');
    const missing = await fetch(`${pipeline.reportingUrl}/api/v2/realtime`, { headers });
    expect(missing.status).toBe(400);
  }, 60_000);

  it('every answer validates against the OpenAPI document', async () => {
    const id = 'https://sitestream.dev/openapi.json';
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    addEventFormats(ajv);
    ajv.addSchema(JSON.parse(JSON.stringify(openApiDocument)), id);
    const check = (path: string, method: string, r: { status: number; body: unknown }) => {
      const validate = ajv.compile({ $ref: `${id}#/paths/${path.replace(/\//g, '~1')}/${method}/responses/${r.status}/content/application~1json/schema` });
      if (!validate(r.body)) throw new Error(`${method} ${path} ${r.status}: ${ajv.errorsText(validate.errors)}`);
    };
    const q = { site_id: 'q-ny', metrics: [...EVENT_METRICS, ...VISIT_METRICS], date_range: RANGE, dimensions: ['visit:country'], include: { total_rows: true, comparison: 'previous_period' } };
    check('/api/v2/query', 'post', await ask(q));
    check('/api/v2/query', 'post', await ask({ ...q, dimensions: [], date_range: 'all', include: undefined }));
    check('/api/v2/query', 'post', await ask({ ...q, metrics: ['nope'] }));
    check('/api/v2/query', 'post', await ask(q, {}));
    const rt = await fetch(`${pipeline.reportingUrl}/api/v2/realtime?site_id=q-ny`, { headers });
    check('/api/v2/realtime', 'get', { status: rt.status, body: JSON.parse(await rt.text()) });
    // A schema that the answers do not match fails: the check is not vacuous.
    expect(() => check('/api/v2/realtime', 'get', { status: 200, body: { visitors: -1, data_as_of: null } })).toThrow();
  }, 30_000);

  it('a query past the statement timeout is cut off: 503 QUERY_TIMEOUT', async () => {
    const q = { site_id: 'q-utc', metrics: ['visits'], date_range: RANGE };
    const blocker = await pipeline.db.transaction();
    try {
      // A lock the query must wait for: it would wait forever without the statement timeout.
      await blocker.raw('LOCK TABLE analytics.visits IN ACCESS EXCLUSIVE MODE');
      const r = await ask(q);
      expect([r.status, r.body.error.code]).toStrictEqual([503, 'QUERY_TIMEOUT']);
    } finally {
      await blocker.rollback();
    }
    expect((await ask(q)).status).toBe(200);
  }, 30_000);
});
