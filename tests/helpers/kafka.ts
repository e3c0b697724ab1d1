import { countTopicRecords, createKafka, createLogger, type Config } from '@sitestream/shared';

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
