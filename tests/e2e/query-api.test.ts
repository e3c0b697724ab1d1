import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { buildStaleQueryDays, setSiteTimeZone } from '@sitestream/db';
import { addEventFormats, openApiDocument } from '@sitestream/shared';
import { createTestKey, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { DIRECT, modelPage, modelQuery, NOT_SET, queryDataset, QUERY_ZONES, type ModelQuery, type QEv } from '../reporting/query-model';

/**
 * POST /api/v2/query through the whole pipeline (ingest → Kafka → consumer → PostgreSQL → reporting), every answer
 * compared with the model in query-model.ts over the events this test sent.
 */
const EVENT_DIMS = ['event:page', 'event:name', 'event:hostname', 'event:props:plan', 'event:props:seats'];
const VISIT_DIMS = ['visit:source', 'visit:referrer', 'visit:utm_source', 'visit:utm_medium', 'visit:utm_campaign', 'visit:utm_term',
  'visit:utm_content', 'visit:browser', 'visit:os', 'visit:device', 'visit:country', 'visit:entry_page', 'visit:exit_page'];
const TIME_DIMS = ['time:hour', 'time:day', 'time:week', 'time:month'];
const EVENT_METRICS = ['visitors', 'pageviews', 'events'];
const VISIT_METRICS = ['visits', 'bounce_rate', 'visit_duration', 'views_per_visit'];
const SITES = Object.keys(QUERY_ZONES);
// Covers New York's fall-back day (2025-11-02) and the days around it.
const RANGE: [string, string] = ['2025-11-01', '2025-11-03'];

describe('POST /api/v2/query equals the model', () => {
  let pipeline: Pipeline;
  let headers: Record<string, string>;
  let events: QEv[];

  beforeAll(async () => {
    // No background rollup job: the test builds the per-day rows itself, when it checks them.
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 1_000_000, REPORTING_STATEMENT_TIMEOUT_MS: 3000, REPORTING_QUERY_ROLLUP_INTERVAL_MS: 0 });
    headers = (await createTestKey(pipeline.db)).headers;
    for (const [site, zone] of Object.entries(QUERY_ZONES)) await setSiteTimeZone(pipeline.db, site, zone);
    const data = queryDataset();
    events = data.events;
    for (let i = 0; i < data.bodies.length; i += 40) {
      const r = await postJson(`${pipeline.ingestUrl}/events`, { events: data.bodies.slice(i, i + 40) });
      expect(r.status).toBe(202);
    }
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === events.length || undefined, { what: 'every event stored', timeoutMs: 90_000 });
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
  it('the per-day rollups and facts answer as the model; a late event sends its days back to the raw tables until rebuilt', async () => {
    const built = await buildStaleQueryDays(pipeline.db);
    expect(built.days).toBeGreaterThan(10);
    const plan = async (q: ModelQuery, expected: 'rollups' | 'facts' | 'raw', all = events) => {
      const r = await ask(q);
      expect({ q, status: r.status, plan: r.headers.get('sitestream-query-plan') }).toStrictEqual({ q, status: 200, plan: expected });
      expect({ q, rows: r.body.results }).toStrictEqual({ q, rows: modelPage(all, q) });
    };
    // Property keys too: 'trial' is missing on one of q-utc's days (checked below), 'nothing' on every day.
    const rolled = [...EVENT_DIMS, 'event:props:trial', 'event:props:nothing', ...VISIT_DIMS];
    const utcDay = (day: string, key: string) => events.some((e) => e.site_id === 'q-utc' && e.timestamp.startsWith(day) && e.props?.[key] !== undefined);
    expect([utcDay('2025-11-02', 'trial'), utcDay('2025-11-03', 'trial')]).toEqual([true, false]);
    await plan({ site_id: 'q-utc', metrics: EVENT_METRICS, date_range: ['2025-11-03', '2025-11-03'], dimensions: ['event:props:trial'] }, 'rollups');
    for (const site of SITES) {
      await plan({ site_id: site, metrics: [...EVENT_METRICS, ...VISIT_METRICS], date_range: RANGE }, 'rollups');
      for (const d of rolled) await plan({ site_id: site, metrics: EVENT_METRICS, date_range: RANGE, dimensions: [d] }, 'rollups');
      for (const d of VISIT_DIMS) await plan({ site_id: site, metrics: [...VISIT_METRICS, 'visitors'], date_range: RANGE, dimensions: [d] }, 'rollups');
      // Filters on the dimension grouped by keep or drop whole rows.
      await plan({ site_id: site, metrics: EVENT_METRICS, date_range: RANGE, dimensions: ['event:name'], filters: [['is_not', 'event:name', ['page_view']]] }, 'rollups');
      await plan({ site_id: site, metrics: EVENT_METRICS, date_range: RANGE, dimensions: ['event:page'], filters: [['contains_not', 'event:page', ['/a', '/b']]] }, 'rollups');
      await plan({ site_id: site, metrics: [...VISIT_METRICS, 'visitors'], date_range: RANGE, dimensions: ['visit:source'], filters: [['contains', 'visit:source', ['o', 'e']], ['is_not', 'visit:source', ['Direct / None']]] }, 'rollups');
      await plan({ site_id: site, metrics: ['visitors', 'visits'], date_range: RANGE, dimensions: ['visit:country'], filters: [['is', 'visit:country', [NOT_SET, 'DE']]] }, 'rollups');
      await plan({ site_id: site, metrics: EVENT_METRICS, date_range: RANGE, dimensions: ['event:props:plan'], filters: [['is_not', 'event:props:plan', [NOT_SET]]] }, 'rollups');
      // Day, week and month buckets from the rows without a dimension (the dashboard's chart).
      for (const d of ['time:day', 'time:week', 'time:month']) await plan({ site_id: site, metrics: [...EVENT_METRICS, ...VISIT_METRICS], date_range: RANGE, dimensions: [d] }, 'rollups');
      // One day (its stored visitors), the whole history, ordering and paging.
      for (const day of ['2025-10-31', '2025-11-02']) await plan({ site_id: site, metrics: ['visitors', 'visits', 'pageviews'], date_range: [day, day], dimensions: ['visit:source'] }, 'rollups');
      await plan({ site_id: site, metrics: ['visitors', 'bounce_rate'], date_range: ['2025-10-25', '2025-11-10'], dimensions: ['visit:entry_page'], order_by: [['bounce_rate', 'asc']], pagination: { limit: 3, offset: 2 } } as ModelQuery, 'rollups');
    }
    // Event metrics with other filters, several dimensions or hours: from the per-day facts.
    const factFilters: [string, string, string[]][] = [
      ['is', 'visit:country', ['US', 'DE']], ['is_not', 'visit:country', ['US']], ['is', 'visit:country', [NOT_SET]],
      ['is', 'visit:source', [DIRECT]], ['contains', 'event:page', ['/blog']], ['contains_not', 'event:page', ['/blog', 'Doc']],
      ['contains', 'visit:utm_campaign', ['sale', 'bra']], ['is_not', 'event:hostname', [NOT_SET]], ['contains', 'visit:referrer', ['.com']],
      ['is', 'visit:entry_page', ['/']], ['contains_not', 'visit:exit_page', ['/pricing']], ['is', 'event:name', ['signup', 'page_view']],
      ['is', 'event:props:plan', ['pro']], ['is', 'event:props:seats', [NOT_SET, '2']], ['contains_not', 'event:props:plan', ['fr']],
    ];
    for (const site of SITES) {
      for (const f of factFilters) {
        // A filter on the dimension grouped by alone is the breakdowns' (above).
        await plan({ site_id: site, metrics: EVENT_METRICS, date_range: RANGE, dimensions: ['visit:source'], filters: [f] }, f[1] === 'visit:source' ? 'rollups' : 'facts');
        await plan({ site_id: site, metrics: ['pageviews', 'visitors'], date_range: RANGE, dimensions: ['event:page', 'visit:browser'], filters: [f, ['is_not', 'visit:device', ['Tablet']]] }, 'facts');
      }
      for (const d of [...TIME_DIMS, 'visit:os', 'event:hostname', 'event:props:plan', 'event:props:trial']) {
        await plan({ site_id: site, metrics: ['events', 'visitors'], date_range: RANGE, dimensions: [d, 'event:name'], filters: [['contains', 'event:page', ['/']]] }, 'facts');
      }
      await plan({ site_id: site, metrics: ['pageviews'], date_range: RANGE, filters: [['is', 'visit:country', ['DE']], ['contains', 'event:page', ['/blog']]] }, 'facts');
      await plan({ site_id: site, metrics: EVENT_METRICS, date_range: RANGE, dimensions: ['event:props:seats', 'event:props:plan'], filters: [['is_not', 'event:props:trial', ['true']]] }, 'facts');
      await plan({ site_id: site, metrics: ['visitors'], date_range: ['2025-11-02', '2025-11-02'], dimensions: ['time:hour'] }, 'facts');
    }
    // Visit metrics beside event metrics: the events from the facts, the visits from the visits table (the
    // dashboard's panels under a filter); visit metrics alone with other filters read raw.
    for (const site of SITES) {
      for (const f of factFilters) {
        await plan({ site_id: site, metrics: ['visitors', 'visits', 'bounce_rate', 'visit_duration', 'views_per_visit'], date_range: RANGE, dimensions: ['visit:source'], filters: [f] }, f[1] === 'visit:source' ? 'rollups' : 'facts');
      }
      await plan({ site_id: site, metrics: ['visits', 'pageviews'], date_range: RANGE, dimensions: ['time:day', 'visit:country'], filters: [['is_not', 'visit:device', ['Tablet']], ['contains', 'event:page', ['/']]] }, 'facts');
      await plan({ site_id: site, metrics: ['bounce_rate', 'visitors'], date_range: RANGE, filters: [['is', 'visit:country', ['US', 'DE']]] }, 'facts');
    }
    await plan({ site_id: 'q-ny', metrics: ['visits', 'bounce_rate'], date_range: RANGE, dimensions: ['visit:source'], filters: [['is', 'visit:country', ['US']]] }, 'raw');

    // Late events on a rolled-up day: a new visitor, and one that becomes the first event of a stored visit
    // (so that visit's attributes, and every later event's visit:* values, change).
    const utc = events.filter((e) => e.site_id === 'q-utc' && e.timestamp >= '2025-11-02' && e.timestamp < '2025-11-03');
    const first = utc.reduce((a, b) => (a.timestamp <= b.timestamp ? a : b));
    const other = events.find((e) => e.site_id === 'q-utc' && JSON.stringify(e.ctx) !== JSON.stringify(first.ctx))!;
    const body = queryDataset().bodies.find((b) => b.event_id === other.event_id)!;
    const late: QEv[] = [
      { ...other, event_id: '0c6b6a52-6f1e-4c36-9d0a-1d7e2f0a1b01', user_id: 'late-visitor', timestamp: '2025-11-02T10:00:00.000Z', event_type: 'page_view', path: '/late' },
      { ...other, event_id: '0c6b6a52-6f1e-4c36-9d0a-1d7e2f0a1b02', user_id: first.user_id, timestamp: new Date(Date.parse(first.timestamp) - 60_000).toISOString(), event_type: 'page_view', path: '/late' },
    ];
    const stored = async () => Number((await pipeline.db.raw("SELECT count(*) AS n FROM analytics.website_events WHERE site_id = 'q-utc'")).rows[0].n);
    const before = await stored();
    const sent = await postJson(`${pipeline.ingestUrl}/events`, { events: late.map(({ ctx: _c, props: _p, ...e }) => ({ ...body, ...e })) });
    expect(sent.status).toBe(202);
    await waitFor(async () => (await stored()) === before + late.length || undefined, { what: 'late events stored', timeoutMs: 30_000 });
    const withLate = [...events, ...late];
    const q: ModelQuery = { site_id: 'q-utc', metrics: ['visitors', 'pageviews', 'visits'], date_range: RANGE, dimensions: ['visit:source'] };
    expect(modelPage(withLate, q)).not.toStrictEqual(modelPage(events, q));
    const filtered: ModelQuery = { site_id: 'q-utc', metrics: ['visitors', 'pageviews'], date_range: RANGE, dimensions: ['visit:source'], filters: [['is_not', 'event:page', ['/nothing']]] };
    expect(modelPage(withLate, filtered)).not.toStrictEqual(modelPage(events, filtered));
    await plan(q, 'raw', withLate);
    await plan(filtered, 'raw', withLate);
    expect((await buildStaleQueryDays(pipeline.db)).days).toBeGreaterThan(0);
    await plan(q, 'rollups', withLate);
    await plan(filtered, 'facts', withLate);
    await plan({ ...q, dimensions: ['visit:entry_page'] }, 'rollups', withLate);
    events = withLate;
  }, 180_000);
});
