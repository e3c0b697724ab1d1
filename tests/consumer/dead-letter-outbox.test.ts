import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { ensureTopics, pipelineTopics } from '@sitestream/shared';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

/**
 * Dead letters reach the dead-letter topic even when publishing to it fails: the table is the outbox, and a
 * failed publish is tried again from it. Both kinds are covered: a record the decoder refuses before the
 * transaction, and one PostgreSQL refuses inside it (the kind the old flow lost when its publish after the
 * commit failed).
 */
describe('dead-letter outbox', () => {
  let pipeline: Pipeline;
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    pipeline = await startPipeline({ CONSUMER_RETRY_MAX_DELAY_MS: 500 });
    kafka = new Kafka({ brokers: pipeline.config.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await pipeline?.stop();
  });

  const unpublished = async () =>
    Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.dead_letters WHERE published_at IS NULL')).rows[0]!.n);

  const publishErrors = async () => {
    const text = await (await fetch(`${pipeline.consumerUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('sitestream_consumer_dead_letter_publishes_total{') && l.includes('outcome="error"'));
    return Number(line?.split(' ').pop() ?? 0);
  };

  it('publishes every dead letter once the topic takes it again, though the first publish failed', async () => {
    const dlqTopic = pipeline.config.KAFKA_DLQ_TOPIC;
    // The first publish fails for real: the dead-letter topic is gone (the broker creates no topic by itself).
    await admin.deleteTopics({ topics: [dlqTopic], timeout: 10_000 });
    await waitFor(async () => !(await admin.listTopics()).includes(dlqTopic), { timeoutMs: 15_000, what: 'the DLQ topic to be deleted' });
    // A row PostgreSQL refuses although the event schema accepts it.
    await pipeline.db.raw(`ALTER TABLE analytics.website_events ADD CONSTRAINT refuse_one_path CHECK (path <> '/refused-by-postgres')`);

    const now = new Date().toISOString();
    const event = (path: string) => ({ event_id: randomUUID(), site_id: 'dlq-site', event_type: 'page_view', path, user_id: 'u1', timestamp: now, received_at: now });
    const good = event('/fine');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: pipeline.config.KAFKA_TOPIC,
      acks: -1,
      messages: [{ key: 'dlq-site', value: '{"not json' }, { key: 'dlq-site', value: JSON.stringify(event('/refused-by-postgres')) }, { key: 'dlq-site', value: JSON.stringify(good) }],
    });
    await producer.disconnect();

    // The batch commits without the topic: rows, position and both dead letters, none of them published yet.
    await waitFor(
      async () => Number((await pipeline.db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events WHERE event_id = ?', [good.event_id])).rows[0]!.n) === 1,
      { timeoutMs: 20_000, what: 'the good event to be stored' },
    );
    const reasons = (await pipeline.db.raw<{ rows: { reason: string }[] }>('SELECT reason FROM analytics.dead_letters ORDER BY "offset"')).rows.map((r) => r.reason);
    expect(reasons).toEqual(['invalid_json', 'database_rejected']);
    await waitFor(async () => (await publishErrors()) >= 1, { timeoutMs: 40_000, what: 'a failed publish' });
    expect(await unpublished()).toBe(2);

    await ensureTopics(admin, pipelineTopics(pipeline.config));
    const seen: { key: string; reason: string; error: string; offset: string }[] = [];
    const reader = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
    await reader.connect();
    await reader.subscribe({ topic: dlqTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const h = message.headers ?? {};
        seen.push({ key: String(message.key), reason: String(h.reason), error: String(h.error), offset: String(h['original-offset']) });
      },
    });
    try {
      await waitFor(() => seen.length >= 2, { timeoutMs: 40_000, what: 'both dead letters on the topic' });
    } finally {
      await reader.disconnect();
    }
    expect(seen.map((s) => s.reason).sort()).toEqual(['database_rejected', 'invalid_json']);
    expect(seen.every((s) => s.key === `${pipeline.config.KAFKA_TOPIC}/${s.key.split('/')[1]}/${s.offset}`)).toBe(true);
    // PostgreSQL's own words, not the statement's text.
    const refused = seen.find((s) => s.reason === 'database_rejected')!;
    expect(refused.error).toMatch(/^23514: .*refuse_one_path/);
    expect(refused.error).not.toMatch(/insert into/i);
    await waitFor(async () => (await unpublished()) === 0, { timeoutMs: 10_000, what: 'rows marked published' });
  }, 150_000);
});
