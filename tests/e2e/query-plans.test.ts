import { buildStaleQueryDays } from '@sitestream/db';
import { postJson, type Pipeline } from '../helpers/pipeline';
import { EVENT_DIMS, EVENT_METRICS, RANGE, SITES, startQueryPipeline, TIME_DIMS, VISIT_DIMS, VISIT_METRICS } from '../helpers/query-pipeline';
import { waitFor } from '../helpers/wait-for';
import { modelPage, NOT_SET, DIRECT, queryDataset, type ModelQuery, type QEv } from '../reporting/query-model';

/**
 * Where POST /api/v2/query reads each answer (its Sitestream-Query-Plan header: the per-day rows, the per-day facts
 * or the raw tables) and that every plan answers as the model in query-model.ts, over the pipeline's real data.
 */
describe('POST /api/v2/query from the per-day rows and facts', () => {
  let pipeline: Pipeline;
  let headers: Record<string, string>;
  let events: QEv[];

  beforeAll(async () => {
    ({ pipeline, headers, events } = await startQueryPipeline());
  }, 150_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  const ask = (body: unknown) => postJson(`${pipeline.reportingUrl}/api/v2/query`, body, headers);

  it('the per-day rollups and facts answer as the model; a late event sends its days back to the raw tables until rebuilt', async () => {
    const built = await buildStaleQueryDays(pipeline.db);
    expect(built.days).toBeGreaterThan(10);
    // Ranges of several days read the spans' visitor sets where built (query-spans.ts): the answers below check them.
    expect(built.spans).toBeGreaterThan(3);
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
      // The first values by visitors over several days: only those that can reach the page are unioned.
      for (const d of [...rolled, 'time:week']) {
        await plan({ site_id: site, metrics: ['visitors', 'pageviews'], date_range: ['2025-10-25', '2025-11-10'], dimensions: [d], pagination: { limit: 2, offset: 1 } } as ModelQuery, 'rollups');
      }
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
