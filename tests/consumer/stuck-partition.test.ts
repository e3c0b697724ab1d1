import { startPipeline, postJson, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

/**
 * A batch that fails with an error that is neither transient nor bad data (here: a trigger raising P0001, as a
 * schema that does not match the code would) is never skipped and never retried silently: the partition is
 * reported stuck (readiness, gauge) and retried slowly until the cause is gone, then the event is stored.
 */
describe('a partition stuck on a non-transient error', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await startPipeline({ CONSUMER_RETRY_MAX_DELAY_MS: 300 });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  const stuckGauge = async () => {
    const text = await (await fetch(`${pipeline.consumerUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('sitestream_consumer_stuck_partitions'));
    return Number(line?.split(' ').pop());
  };
  const ready = async () => (await fetch(`${pipeline.consumerUrl}/readyz`)).status;
  const stored = async (path: string) =>
    Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events WHERE path = ?', [path])).rows[0]!.n);

  it('is announced while it lasts and stored, not dead-lettered, once the cause is gone', async () => {
    expect(await ready()).toBe(200);
    expect(await stuckGauge()).toBe(0);
    await pipeline.db.raw(`
      CREATE FUNCTION analytics.test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.path = '/stuck' THEN RAISE EXCEPTION 'not today'; END IF; RETURN NEW; END $$`);
    await pipeline.db.raw('CREATE TRIGGER test_refuse BEFORE INSERT ON analytics.website_events FOR EACH ROW EXECUTE FUNCTION analytics.test_refuse()');

    const res = await postJson(`${pipeline.ingestUrl}/event`, { site_id: 'stuck-site', event_type: 'page_view', path: '/stuck', user_id: 'u1', timestamp: new Date().toISOString() });
    expect(res.status).toBe(202);

    await waitFor(async () => (await stuckGauge()) === 1 && (await ready()) === 503, { timeoutMs: 20_000, what: 'the partition reported stuck' });
    expect(await stored('/stuck')).toBe(0);
    const dead = Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.dead_letters')).rows[0]!.n);
    expect(dead).toBe(0);

    await pipeline.db.raw('DROP TRIGGER test_refuse ON analytics.website_events');
    await waitFor(async () => (await stored('/stuck')) === 1, { timeoutMs: 20_000, what: 'the event stored after the cause is gone' });
    await waitFor(async () => (await stuckGauge()) === 0 && (await ready()) === 200, { timeoutMs: 10_000, what: 'the partition no longer stuck' });
  }, 90_000);
});
