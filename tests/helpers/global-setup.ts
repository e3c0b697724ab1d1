import { startTestEnvironment, type TestEnvironment } from './environment';

declare global {
  // Shared only between jest's globalSetup and globalTeardown, which run in the same process.
  var __SITESTREAM_TEST_ENV__: TestEnvironment | undefined;
}

export default async function globalSetup(): Promise<void> {
  const env = await startTestEnvironment();
  globalThis.__SITESTREAM_TEST_ENV__ = env;
  // Test workers inherit these.
  process.env.KAFKA_BROKERS = env.kafkaBrokers;
  process.env.TEST_DATABASE_URL = env.adminDatabaseUrl;
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
}
