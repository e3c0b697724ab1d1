import { randomUUID } from 'node:crypto';
import { createDb, setSiteTimeZone, SITE_LOCK_TIMEOUT, type Knex } from '@sitestream/db';
import { createLogger } from '@sitestream/shared';
import { postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

/**
 * A write that waits (a rebuild or a zone change holds the site's lock) must not cost the consumer its group
 * membership: it heartbeats while it waits. And a recompute that cannot get the site's lock gives up after
 * SITE_LOCK_TIMEOUT instead of queueing every consumer transaction of the site behind it.
 */
describe('long writes and the site lock', () => {
  let pipeline: Pipeline;
  let holder: Knex;
  const site = 'hb-site';

  beforeAll(async () => {
    pipeline = await startPipeline({ CONSUMER_SESSION_TIMEOUT_MS: 6000 });
    holder = createDb({ DATABASE_URL: pipeline.config.DATABASE_URL, DB_POOL_MAX: 2, DB_STATEMENT_TIMEOUT_MS: 60_000 }, createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'test'), 'test-holder');
  });
  afterAll(async () => {
    await holder?.destroy();
    await pipeline?.stop();
  });

  const stored = async (path: string) =>
    Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events WHERE path = ?', [path])).rows[0]!.n);
  const rebalances = async () => {
    const text = await (await fetch(`${pipeline.consumerUrl}/metrics`)).text();
    return Number(/^sitestream_consumer_rebalances_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
  };
  const event = (path: string) => ({ event_id: randomUUID(), site_id: site, event_type: 'page_view', path, user_id: 'u', timestamp: new Date().toISOString() });

  it('keeps its membership while a transaction waits longer than the session timeout', async () => {
    expect((await postJson(`${pipeline.ingestUrl}/event`, event('/first'))).status).toBe(202);
    await waitFor(async () => (await stored('/first')) === 1, { timeoutMs: 20_000, what: 'the first event' });
    await waitFor(async () => (await rebalances()) >= 1, { timeoutMs: 10_000, what: 'the group joined' });
    const joins = await rebalances();

    const trx = await holder.transaction();
    try {
      await trx.raw('SELECT 1 FROM analytics.sites WHERE site_id = ? FOR UPDATE', [site]);
      expect((await postJson(`${pipeline.ingestUrl}/event`, event('/second'))).status).toBe(202);
      // The consumer's transaction waits on the lock for longer than its 6 s session timeout.
      await waitFor(
        async () =>
          Number(
            (await holder.raw<{ rows: { n: number }[] }>(
              `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'sitestream-consumer' AND wait_event_type = 'Lock' AND now() - query_start > interval '8 seconds'`,
            )).rows[0]!.n,
          ) > 0,
        { timeoutMs: 20_000, intervalMs: 250, what: 'the consumer waiting on the site lock for 8 s' },
      );
    } finally {
      await trx.commit();
    }
    await waitFor(async () => (await stored('/second')) === 1, { timeoutMs: 20_000, what: 'the second event' });
    expect(await rebalances()).toBe(joins);
  }, 90_000);

  it(`a zone change gives up after ${SITE_LOCK_TIMEOUT} when the site's lock is held`, async () => {
    const trx = await holder.transaction();
    const started = Date.now();
    try {
      await trx.raw('SELECT 1 FROM analytics.sites WHERE site_id = ? FOR UPDATE', [site]);
      await expect(setSiteTimeZone(pipeline.db, site, 'Europe/Paris')).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await trx.rollback();
    }
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(9_000);
    expect(waited).toBeLessThan(25_000);
    await setSiteTimeZone(pipeline.db, site, 'Europe/Paris');
  }, 60_000);
});
