import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, startLocalKafka, type LocalKafka } from '@sitestream/infra';
import { countTopicRecords, createKafka, createLogger, type Config } from '@sitestream/shared';
import { waitFor } from './wait-for';

/** Sum of the high watermarks of a topic: how many records were ever produced to it. */
export async function topicRecordCount(config: Config, topic: string): Promise<number> {
  const admin = createKafka(config, createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'test'), 'test-inspect').admin();
  await admin.connect();
  try {
    return await countTopicRecords(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

/** Every record of a topic as raw bytes (value and headers), read from the beginning by a throwaway group. */
export async function readTopicRecords(config: Config, topic: string): Promise<Buffer[]> {
  const expected = await topicRecordCount(config, topic);
  const kafka = createKafka(config, createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'test'), 'test-read');
  const consumer = kafka.consumer({ groupId: `test-read-${randomBytes(4).toString('hex')}` });
  const records: Buffer[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        records.push(Buffer.concat([message.key ?? Buffer.alloc(0), message.value ?? Buffer.alloc(0), ...Object.values(message.headers ?? {}).flat().map((h) => Buffer.from(h ?? ''))]));
      },
    });
    await waitFor(() => records.length >= expected, { what: `${expected} records read from ${topic}`, timeoutMs: 60_000 });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

export interface ThrowawayKafka {
  kafka: LocalKafka;
  /** Stops the brokers and removes their data folder. */
  stop(): Promise<void>;
}

const PORT_TAKEN = /BindException|Address already in use|openServerSocket/;

/**
 * A local broker (or cluster) on ports the OS handed out, in a throwaway folder. A port released by freePort can
 * be taken again before the broker binds it (a busy machine reuses it for some client connection within
 * milliseconds): that start-up failure, and only that one, is retried on new ports.
 */
export async function startThrowawayKafka(options: { brokers: number; heapMb?: number; attempts?: number }): Promise<ThrowawayKafka> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'sitestream-kafka-'));
    const ports = await freePorts(2 * options.brokers);
    const brokers = Array.from({ length: options.brokers }, (_, i) => ({ nodeId: i + 1, port: ports[2 * i]!, controllerPort: ports[2 * i + 1]! }));
    try {
      const kafka = await startLocalKafka({ dataDir, brokers, heapMb: options.heapMb });
      return {
        kafka,
        stop: async () => {
          await kafka.stop().catch(() => undefined);
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      if (attempt >= attempts || !PORT_TAKEN.test((err as Error).message)) throw err;
      process.stderr.write(`Kafka start-up: a port was taken before the broker bound it (attempt ${attempt}); retrying on new ports\n`);
    }
  }
}
