import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

/** The seed's public contract (shared/seed-contract.md), byte for byte where it speaks. */
describe('seed contract', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  const seedKeys = ['site_id', 'date', 'total_views', 'unique_users', 'top_paths'];
  const seedPart = (body: Record<string, unknown>) => Object.fromEntries(seedKeys.map((k) => [k, body[k]]));
  beforeAll(async () => {
    pipeline = await startPipeline();
    auth = (await createTestKey(pipeline.db)).headers;
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('when the example event is posted, then /stats answers the example response exactly', async () => {
    const posted = await postJson(`${pipeline.ingestUrl}/event`, {
      site_id: 'site-abc-123',
      event_type: 'page_view',
      path: '/pricing',
      user_id: 'user-xyz-789',
      timestamp: '2025-11-16T10:00:00Z',
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toEqual({ status: 'accepted', event_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    const stats = await waitFor(
      async () => {
        const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=site-abc-123&date=2025-11-16`, auth);
        return r.body.total_views === 1 ? r : undefined;
      },
      { what: 'the event to appear in /stats' },
    );
    expect(stats.status).toBe(200);
    // The seed's keys first, in the seed's order, with the seed's values; fields added since come after them.
    expect(Object.keys(stats.body).slice(0, 5)).toEqual(seedKeys);
    expect(seedPart(stats.body)).toStrictEqual({
      site_id: 'site-abc-123',
      date: '2025-11-16',
      total_views: 1,
      unique_users: 1,
      top_paths: [{ path: '/pricing', views: 1 }],
    });
    expect(stats.body).toMatchObject({ total_events: 1, event_types: [{ event_type: 'page_view', events: 1 }], time_zone: 'UTC' });
    // One visit of one page view: a bounce of no duration.
    expect(stats.body).toMatchObject({ visits: 1, bounce_rate: 100, visit_duration: 0, views_per_visit: 1 });
    expect(Date.parse(stats.body.data_as_of)).toBeGreaterThan(0);
  });

  it('when a site has no events that day, then /stats answers zeros and an empty list', async () => {
    const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=nobody&date=2025-11-16`, auth);
    expect(r.status).toBe(200);
    expect(seedPart(r.body)).toStrictEqual({ site_id: 'nobody', date: '2025-11-16', total_views: 0, unique_users: 0, top_paths: [] });
    expect(r.body).toMatchObject({ total_events: 0, event_types: [], time_zone: 'UTC', visits: 0, bounce_rate: 0, visit_duration: 0, views_per_visit: 0 });
  });

  it('stores the seed columns with their types in analytics.website_events', async () => {
    const columns = await pipeline.db('information_schema.columns')
      .where({ table_schema: 'analytics', table_name: 'website_events' })
      .select('column_name', 'data_type', 'character_maximum_length', 'is_nullable', 'is_identity');
    const byName = Object.fromEntries(columns.map((c) => [c.column_name, c]));
    expect(byName.id).toMatchObject({ data_type: 'bigint', is_identity: 'YES' });
    expect(byName.site_id).toMatchObject({ data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO' });
    expect(byName.event_type).toMatchObject({ data_type: 'character varying', character_maximum_length: 50, is_nullable: 'NO' });
    expect(byName.path).toMatchObject({ data_type: 'character varying', character_maximum_length: 2048, is_nullable: 'NO' });
    expect(byName.user_id).toMatchObject({ data_type: 'character varying', character_maximum_length: 255, is_nullable: 'NO' });
    expect(byName.timestamp).toMatchObject({ data_type: 'timestamp with time zone', is_nullable: 'NO' });
  });
});
