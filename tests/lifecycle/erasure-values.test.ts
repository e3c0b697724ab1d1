import { randomUUID } from 'node:crypto';
import { buildStaleQueryDays, eraseVisitor } from '@sitestream/db';
import { createTestKey, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

/**
 * The query API keeps each shown value once per site (query_strings, and property sets in query_props). After a
 * visitor's erasure, the values only their events carried (here an e-mail address in a property, a page with a
 * token) are deleted once every stored day of the site has been rebuilt since — not before.
 */
describe('erasure and the query API\'s stored values', () => {
  let pipeline: Pipeline;
  let headers: Record<string, string>;
  const site = 'site-erasure-values';
  // A closed day (UTC): the query rows are built only for days before today.
  const at = new Date(Date.now() - 26 * 3_600_000).toISOString();
  const day = at.slice(0, 10);
  const event = (user: string, path: string, props?: Record<string, string>) =>
    ({ event_id: randomUUID(), site_id: site, event_type: 'page_view', path, user_id: user, timestamp: at, ...(props ? { props } : {}) });
  const victimOnly = ['/private/reset-token-4711', 'victim@example.com', '{"plan": "pro", "email": "victim@example.com"}'];
  const kept = ['/public', 'pro', '{"plan": "pro"}', '(not set)'];

  const values = async (): Promise<string[]> =>
    (await pipeline.db.raw<{ rows: { value: string }[] }>('SELECT value FROM analytics.query_strings WHERE site_id = ? ORDER BY value', [site])).rows.map((r) => r.value);
  const ask = (body: Record<string, unknown>) => postJson(`${pipeline.reportingUrl}/api/v2/query`, { site_id: site, date_range: [day, day], ...body }, headers);

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_QUERY_ROLLUP_INTERVAL_MS: 0 });
    headers = (await createTestKey(pipeline.db)).headers;
    const events = [
      event('victim', '/private/reset-token-4711', { plan: 'pro', email: 'victim@example.com' }),
      event('keeper', '/public', { plan: 'pro' }),
      event('keeper', '/public'),
    ];
    expect((await postJson(`${pipeline.ingestUrl}/events`, { events })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === events.length || undefined, { what: 'the events stored' });
  }, 120_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('deletes the erased visitor\'s values once the site\'s days are rebuilt, and answers from the rebuilt rows', async () => {
    expect((await buildStaleQueryDays(pipeline.db)).days).toBe(1);
    expect(await values()).toEqual(expect.arrayContaining([...victimOnly, ...kept]));

    await eraseVisitor(pipeline.db, site, 'victim');
    // Rebuilt at once, but a day built within 5 minutes of an erasure is not trusted yet (it may include the
    // erased events): nothing is swept, and the day is built again on the next run.
    const rebuilt = await buildStaleQueryDays(pipeline.db);
    expect({ days: rebuilt.days, swept: rebuilt.swept }).toEqual({ days: 1, swept: 0 });
    expect(await values()).toEqual(expect.arrayContaining(victimOnly));

    // Ten minutes later (the erasure's stamp moved back instead of waiting).
    await pipeline.db.raw("UPDATE analytics.erasures SET erased_at = erased_at - interval '10 minutes' WHERE site_id = ?", [site]);
    const swept = await buildStaleQueryDays(pipeline.db);
    expect({ days: swept.days, swept: swept.swept }).toEqual({ days: 0, swept: victimOnly.length });
    expect((await values()).filter((v) => victimOnly.includes(v))).toEqual([]);
    expect(await values()).toEqual(expect.arrayContaining(kept));
    const props = await pipeline.db.raw<{ rows: { key: string; value: string }[] }>(
      'SELECT p.key, s.value FROM analytics.query_props p JOIN analytics.query_strings s ON s.site_id = p.site_id AND s.id = p.value WHERE p.site_id = ? ORDER BY 1',
      [site],
    );
    expect(props.rows).toEqual([{ key: 'plan', value: 'pro' }]);
    // Nothing more is due: a later run sweeps nothing.
    expect((await buildStaleQueryDays(pipeline.db)).swept).toBe(0);

    // The keeper's two page views, from the rebuilt rows and facts.
    const byPlan = await ask({ metrics: ['visitors', 'pageviews'], dimensions: ['event:props:plan'] });
    expect({ plan: byPlan.headers.get('sitestream-query-plan'), results: byPlan.body.results }).toEqual({
      plan: 'rollups', results: [{ dimensions: ['(not set)'], metrics: [1, 1] }, { dimensions: ['pro'], metrics: [1, 1] }],
    });
    const byEmail = await ask({ metrics: ['visitors', 'pageviews'], dimensions: ['event:props:email', 'event:page'], filters: [['contains', 'event:page', ['/p']]] });
    expect({ plan: byEmail.headers.get('sitestream-query-plan'), results: byEmail.body.results }).toEqual({
      plan: 'facts', results: [{ dimensions: ['(not set)', '/public'], metrics: [1, 2] }],
    });
  }, 60_000);
});
