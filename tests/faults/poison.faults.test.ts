import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from '../helpers/wait-for';
import { acceptedAtLeast, runFaultScenario } from './harness/scenario';

/**
 * Scenario 10: poison records produced straight into the topic, in the middle of good traffic, are
 * dead-lettered (table and DLQ topic, with headers) and never block a partition.
 */
describe('poison records', () => {
  it('are dead-lettered while the good records around them are stored', async () => {
    const now = new Date().toISOString();
    const good = { event_id: randomUUID(), site_id: 'poison-site', event_type: 'page_view', path: '/', user_id: 'u', timestamp: now, received_at: now };
    const poison: string[] = [
      '{"site_id": "poison-site", not json',
      JSON.stringify({ ...good, event_id: randomUUID(), event_type: undefined }),
      JSON.stringify({ ...good, event_id: randomUUID(), extra: 1 }),
      JSON.stringify({ ...good, event_id: randomUUID(), path: '/nul\u0000byte' }),
      JSON.stringify({ ...good, event_id: randomUUID(), path: '/' + 'x'.repeat(3000) }),
      JSON.stringify({ ...good, event_id: 'not-a-uuid' }),
      '',
    ];
    const partitions = 3;
    let headers: Record<string, string>[] = [];
    const result = await runFaultScenario(
      { name: 'poison_records', stage: { brokers: 1, partitions }, load: { eventsPerSecond: 1500, batchSize: 15, maxEvents: 15_000 } },
      async ({ stage, ledger, inject }) => {
        await acceptedAtLeast(ledger, 2000);
        const kafka = new Kafka({ brokers: stage.kafka.bootstrap.split(','), logLevel: logLevel.NOTHING });
        const producer = kafka.producer();
        await producer.connect();
        await inject('poison produced', async () => {
          for (let partition = 0; partition < partitions; partition++) {
            await producer.send({ topic: stage.topic, acks: -1, messages: poison.map((value) => ({ partition, value })) });
            // Each must come back as one dead letter with exactly these bytes (the ledger matches them).
            ledger.poison.push(...poison.map((value) => Buffer.from(value)));
          }
        });
        await producer.disconnect();

        // The dead-letter topic gets them too, with the original position in headers.
        const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
        await consumer.connect();
        await consumer.subscribe({ topic: stage.env.KAFKA_DLQ_TOPIC!, fromBeginning: true });
        const seen: Record<string, string>[] = [];
        await consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
          },
        });
        await waitFor(() => seen.length >= poison.length * partitions || undefined, { what: 'DLQ records' });
        await consumer.disconnect();
        headers = seen;
      },
    );
    expect(result.deadLettered).toBe(poison.length * partitions);
    expect(new Set(headers.map((h) => h.reason))).toEqual(new Set(['invalid_json', 'schema', 'empty']));
    expect(headers.every((h) => h['original-topic']?.startsWith('test-events-') && /^\d+$/.test(h['original-offset'] ?? ''))).toBe(true);
  });
});
