import { randomBytes } from 'node:crypto';
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
