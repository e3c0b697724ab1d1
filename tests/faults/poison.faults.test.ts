import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { Stage } from './harness/stage';
import { waitFor } from '../helpers/wait-for';

/**
 * Scenario 10: poison records produced straight into the topic, in the middle of good traffic, are
 * dead-lettered (table and DLQ topic, with headers) and never block a partition.
 */
describe('poison records', () => {
  it('are dead-lettered while the good records around them are stored', async () => {
    const stage = await Stage.create({ brokers: 1, partitions: 3 });
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 1500, batchSize: 15, maxEvents: 15_000 });
      await waitFor(() => ledger.accepted.size > 2000 || undefined, { what: 'load under way' });

      const good = { event_id: randomUUID(), site_id: 'poison-site', event_type: 'page_view', path: '/', user_id: 'u', timestamp: new Date().toISOString(), received_at: new Date().toISOString() };
      const poison: string[] = [
        '{"site_id": "poison-site", not json',
        JSON.stringify({ ...good, event_id: randomUUID(), event_type: undefined }),
        JSON.stringify({ ...good, event_id: randomUUID(), extra: 1 }),
        JSON.stringify({ ...good, event_id: randomUUID(), path: '/nul\u0000byte' }),
        JSON.stringify({ ...good, event_id: randomUUID(), path: '/' + 'x'.repeat(3000) }),
        JSON.stringify({ ...good, event_id: 'not-a-uuid' }),
        '',
      ];
      const kafka = new Kafka({ brokers: stage.kafka.bootstrap.split(','), logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      for (let partition = 0; partition < 3; partition++) {
        await producer.send({ topic: stage.topic, acks: -1, messages: poison.map((value) => ({ partition, value })) });
      }
      await producer.disconnect();
      ledger.poisonProduced = poison.length * 3;

      await load.finished();
      await stage.drain();
      const result = await settleLedger('poison_records', ledger, stage.db, 0);
      expect(result.deadLettered).toBe(poison.length * 3);
      expect(result.lost).toBe(0);
      expect(result.duplicated).toBe(0);

      // The dead-letter topic got them too, with the original position in headers.
      const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
      await consumer.connect();
      await consumer.subscribe({ topic: stage.env.KAFKA_DLQ_TOPIC!, fromBeginning: true });
      const seen: Record<string, string>[] = [];
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
        },
      });
      await waitFor(() => seen.length >= poison.length * 3 || undefined, { what: 'DLQ records' });
      await consumer.disconnect();
      expect(new Set(seen.map((h) => h.reason))).toEqual(new Set(['invalid_json', 'schema', 'empty']));
      expect(seen.every((h) => h['original-topic'] === stage.topic && /^\d+$/.test(h['original-offset'] ?? ''))).toBe(true);
    } catch (err) {
      process.stderr.write(stage.logs());
      throw err;
    } finally {
      await stage.stop();
    }
  });
});
