import { getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

/** The seed's public contract (shared/seed-contract.md), byte for byte where it speaks. */
describe('seed contract', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline();
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
        const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=site-abc-123&date=2025-11-16`);
        return r.body.total_views === 1 ? r : undefined;
      },
      { what: 'the event to appear in /stats' },
    );
    expect(stats.status).toBe(200);
    // Same keys in the same order as the seed's example.
    expect(Object.keys(stats.body)).toEqual(['site_id', 'date', 'total_views', 'unique_users', 'top_paths']);
    expect(stats.body).toStrictEqual({
      site_id: 'site-abc-123',
      date: '2025-11-16',
      total_views: 1,
      unique_users: 1,
      top_paths: [{ path: '/pricing', views: 1 }],
    });
  });

  it('when a site has no events that day, then /stats answers zeros and an empty list', async () => {
    const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=nobody&date=2025-11-16`);
    expect(r.status).toBe(200);
    expect(r.body).toStrictEqual({ site_id: 'nobody', date: '2025-11-16', total_views: 0, unique_users: 0, top_paths: [] });
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
