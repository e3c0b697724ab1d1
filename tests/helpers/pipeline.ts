import { randomBytes } from 'node:crypto';
import { createApiKey, type Knex, type NewKeyOptions } from '@sitestream/db';
import { startConsumerService } from '@sitestream/consumer';
import { startIngestService } from '@sitestream/ingest';
import { startReportingService } from '@sitestream/reporting';
import { createKafka, createLogger, ensureTopics, loadConfig, pipelineTopics, type Config, type Logger } from '@sitestream/shared';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface Pipeline {
  config: Config;
  ingestUrl: string;
  reportingUrl: string;
  /** Where ingest and reporting serve /metrics (their management listeners). */
  ingestManagementUrl: string;
  reportingManagementUrl: string;
  consumerUrl: string;
  db: Knex;
  stop(): Promise<void>;
}

/** Names no other test uses: a topic, its dead-letter topic and a consumer group of its own. */
export function uniqueKafkaNames(): Pick<Config, 'KAFKA_TOPIC' | 'KAFKA_DLQ_TOPIC' | 'KAFKA_CONSUMER_GROUP'> {
  const id = randomBytes(4).toString('hex');
  return { KAFKA_TOPIC: `test-events-${id}`, KAFKA_DLQ_TOPIC: `test-events-${id}.dlq`, KAFKA_CONSUMER_GROUP: `test-writer-${id}` };
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({ ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', HOST: '127.0.0.1' });
  return Object.freeze({ ...base, ...uniqueKafkaNames(), KAFKA_TOPIC_PARTITIONS: 3, INGEST_PORT: 0, REPORTING_PORT: 0, CONSUMER_PORT: 0, INGEST_MANAGEMENT_PORT: 0, REPORTING_MANAGEMENT_PORT: 0, ...overrides });
}

/**
 * The three real services, in this process, on ephemeral ports, against the real broker and a fresh database:
 * what the end-to-end tests drive through HTTP.
 */
export async function startPipeline(overrides: Partial<Config> = {}, options: { consumer?: boolean; logger?: Logger } = {}): Promise<Pipeline> {
  const database: TestDatabase = await createTestDatabase();
  const config = testConfig({ DATABASE_URL: database.url, ...overrides });
  // A test that reads what the services log passes its own logger (e.g. to search the logs for personal data).
  const logger = options.logger ?? createLogger(config, 'test');
  const admin = createKafka(config, logger, 'test').admin();
  await admin.connect();
  await ensureTopics(admin, pipelineTopics(config));
  await admin.disconnect();

  const ingest = await startIngestService(config, logger.child({ service: 'ingest' }));
  const consumer = options.consumer === false ? undefined : await startConsumerService(config, logger.child({ service: 'consumer' }));
  const reporting = await startReportingService(config, logger.child({ service: 'reporting' }));
  return {
    config,
    ingestUrl: ingest.url,
    reportingUrl: reporting.url,
    ingestManagementUrl: ingest.managementUrl!,
    reportingManagementUrl: reporting.managementUrl!,
    consumerUrl: consumer?.url ?? '',
    db: database.db,
    stop: async () => {
      await ingest.stop();
      await consumer?.stop();
      await reporting.stop();
      await database.drop();
    },
  };
}

/**
 * Creates an API key in the pipeline's database (every site unless scoped) and returns the headers that carry it:
 * /stats requires `Authorization: Bearer <key>`.
 */
export async function createTestKey(db: Knex, options: NewKeyOptions = {}): Promise<{ key: string; headers: Record<string, string> }> {
  const { key } = await createApiKey(db, { name: 'test', ...options });
  return { key, headers: { authorization: `Bearer ${key}` } };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** Parses with this realm's JSON (fetch's own .json() builds objects jest's strict equality rejects). */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text, headers: res.headers };
}
