import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { checkApiKey } from '@sitestream/db';
import { startConsumerService } from '@sitestream/consumer';
import { createLogger } from '@sitestream/shared';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { adminCli } from './admin';

/** Deleting a site leaves no row of it in any table (but its tombstone), and a replay of the topic brings nothing back. */
describe('sites delete', () => {
  let pipeline: Pipeline;
  const doomed = 'doomed-site';
  const kept = 'kept-site';

  /** Rows naming the site, in every table of the schema that has a site_id column, plus keys and dead letters. */
  const rowsOf = async (site: string): Promise<Record<string, number>> => {
    const tables = await pipeline.db.raw<{ rows: { table_name: string }[] }>(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'analytics' AND column_name = 'site_id' ORDER BY 1`,
    );
    const found: Record<string, number> = {};
    for (const { table_name } of tables.rows) {
      const n = Number((await pipeline.db.raw<{ rows: { n: number }[] }>(`SELECT count(*) AS n FROM analytics.${table_name} WHERE site_id = ?`, [site])).rows[0]!.n);
      if (n > 0) found[table_name] = n;
    }
    const keys = Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.api_keys WHERE ? = ANY(site_ids)', [site])).rows[0]!.n);
    if (keys > 0) found.api_keys = keys;
    const dead = Number((await pipeline.db.raw<{ rows: { n: number }[] }>(`SELECT count(*) AS n FROM analytics.dead_letters WHERE position(convert_to(?, 'UTF8') in payload) > 0`, [site])).rows[0]!.n);
    if (dead > 0) found.dead_letters = dead;
    return found;
  };

  beforeAll(async () => {
    pipeline = await startPipeline();
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('removes every row of the site, narrows or deletes its keys, and nothing comes back on a replay', async () => {
    // A closed day (UTC), so that the query API's per-day rows and facts can be built for it.
    const now = new Date(Date.now() - 26 * 3_600_000).toISOString();
    const events = [doomed, kept].flatMap((site) =>
      Array.from({ length: 60 }, (_, i) => ({ event_id: randomUUID(), site_id: site, event_type: i % 3 ? 'page_view' : 'click', path: `/p${i % 7}`, user_id: `u${i % 9}`, timestamp: now, ...(i % 5 ? {} : { props: { plan: 'pro' } }) })),
    );
    expect((await postJson(`${pipeline.ingestUrl}/events`, { events })).status).toBe(202);
    // A dead letter of the doomed site: schema-invalid JSON produced straight to the topic.
    const kafka = new Kafka({ brokers: pipeline.config.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: pipeline.config.KAFKA_TOPIC, acks: -1, messages: [{ key: doomed, value: JSON.stringify({ ...events[0], event_id: randomUUID(), extra: 1 }) }] });
    await producer.disconnect();
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === events.length && (await countRows(pipeline.db, 'analytics.dead_letters')) === 1, {
      timeoutMs: 20_000,
      what: 'events and the dead letter stored',
    });
    const admin = adminCli(pipeline.config.DATABASE_URL);
    expect((await admin('rollups', 'build-query-days')).code).toBe(0);
    const only = await createTestKey(pipeline.db, { siteIds: [doomed] });
    const both = await createTestKey(pipeline.db, { siteIds: [doomed, kept] });
    const before = await rowsOf(doomed);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['website_events', 'sites', 'daily_event_counts', 'daily_users', 'api_keys', 'dead_letters',
      'visits', 'query_days', 'query_daily', 'query_facts', 'query_props', 'query_strings', 'query_user_ids']));
    const keptBefore = await rowsOf(kept);

    expect((await admin('sites', 'delete', doomed)).code).toBe(2);
    const r = await admin('sites', 'delete', doomed, '--yes');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`deleted ${doomed}: 60 events, 1 dead letters, 1 keys deleted, 1 keys narrowed\n`);
    // Only the tombstone remains: without it a replay would bring the site back.
    expect(await rowsOf(doomed)).toEqual({ erasures: 1 });
    expect(await rowsOf(kept)).toEqual({ ...keptBefore, api_keys: 1 });
    expect((await checkApiKey(pipeline.db, only.key)).ok).toBe(false);
    const narrowed = await checkApiKey(pipeline.db, both.key);
    expect(narrowed.ok && narrowed.key.siteIds).toEqual([kept]);
    expect((await getJson(`${pipeline.reportingUrl}/stats?site_id=${doomed}&date=${now.slice(0, 10)}`, both.headers)).status).toBe(404);

    // Replay the whole topic with a second member: nothing of the site is stored again.
    await pipeline.db.raw('UPDATE analytics.consumer_offsets SET next_offset = 0');
    const second = await startConsumerService({ ...pipeline.config, CONSUMER_PORT: 0 }, createLogger(pipeline.config, 'test-second'));
    try {
      const positions = async () => Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT coalesce(sum(next_offset), 0) AS n FROM analytics.consumer_offsets')).rows[0]!.n);
      await waitFor(async () => (await positions()) >= events.length + 1, { timeoutMs: 30_000, what: 'the topic replayed' });
    } finally {
      await second.stop();
    }
    expect(await rowsOf(doomed)).toEqual({ erasures: 1 });
    // Events received after the deletion are new data: the site starts again.
    expect((await postJson(`${pipeline.ingestUrl}/event`, { site_id: doomed, event_type: 'page_view', path: '/again', user_id: 'u', timestamp: new Date().toISOString() })).status).toBe(202);
    await waitFor(async () => ((await rowsOf(doomed)).website_events ?? 0) === 1, { timeoutMs: 20_000, what: 'the new event stored' });
  }, 120_000);
});
