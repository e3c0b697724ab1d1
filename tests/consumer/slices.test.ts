import { randomUUID } from 'node:crypto';
import { postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

/** A backlog fetched at once is written in transactions of at most CONSUMER_MAX_RECORDS_PER_TRANSACTION records. */
describe('transactions per fetch', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    // One partition: the 210 events of one request reach the consumer in one or a few fetches.
    pipeline = await startPipeline({ KAFKA_TOPIC_PARTITIONS: 1, CONSUMER_MAX_RECORDS_PER_TRANSACTION: 7 });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('stores every record of a large fetch, seven per transaction', async () => {
    const now = new Date().toISOString();
    const events = Array.from({ length: 210 }, (_, i) => ({ event_id: randomUUID(), site_id: 'slice-site', event_type: 'page_view', path: `/p${i}`, user_id: `u${i % 13}`, timestamp: now }));
    expect((await postJson(`${pipeline.ingestUrl}/events`, { events })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === events.length, { timeoutMs: 20_000, what: 'every event stored' });
    const text = await (await fetch(`${pipeline.consumerUrl}/metrics`)).text();
    const transactions = Number(/^sitestream_consumer_transaction_duration_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
    const largest = Math.max(...(await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events GROUP BY stored_at')).rows.map((r) => Number(r.n)));
    // Rows of one transaction share its stored_at (now() is the transaction's start): no transaction holds more than 7.
    expect(largest).toBeLessThanOrEqual(7);
    expect(transactions).toBeGreaterThanOrEqual(events.length / 7);
  }, 60_000);
});
