import { createDb } from '@sitestream/db';
import {
  createKafka,
  createMetricsRegistry,
  createProducer,
  ensureTopics,
  Lifecycle,
  listen,
  pipelineTopics,
  serverComponent,
  serverUrl,
  type Config,
  type Logger,
  type RunningService,
} from '@sitestream/shared';
import { createConsumerApp } from './app';
import { DeadLetterRelay } from './dead-letter-relay';
import { RetentionJob } from './retention-job';
import { LagMonitor } from './lag-monitor';
import { PositionCheck } from './position-check';
import { WriterConsumer } from './writer-consumer';

// Only a failed publish or a crash leaves dead letters behind; a batch that stores some publishes them at once.
const DEAD_LETTER_RELAY_INTERVAL_MS = 5000;

/** Wires the consumer from validated config: database pool → dead-letter relay → position check → Kafka consumer → health server. */
export async function startConsumerService(config: Config, logger: Logger): Promise<RunningService & { writer: WriterConsumer }> {
  const registry = createMetricsRegistry('consumer');
  // A batch in hand may need up to a session timeout to finish before we leave the group.
  const lifecycle = new Lifecycle(logger, config.CONSUMER_SESSION_TIMEOUT_MS);
  const db = createDb(config, logger, 'sitestream-consumer');
  lifecycle.add({ id: 'db', isReady: async () => (await db.raw('SELECT 1'), true), close: () => db.destroy() });

  const kafka = createKafka(config, logger, 'consumer');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, pipelineTopics(config));
  await admin.disconnect();

  const producer = createProducer(kafka);
  await producer.connect();
  lifecycle.add({ id: 'dlq-producer', isReady: () => true, close: () => producer.disconnect() });
  const relay = new DeadLetterRelay(
    { db, producer, logger: logger.child({ component: 'dead-letter-relay' }), registry },
    { dlqTopic: config.KAFKA_DLQ_TOPIC, intervalMs: DEAD_LETTER_RELAY_INTERVAL_MS },
  );
  lifecycle.add(relay);
  relay.start();

  const retention = new RetentionJob(
    { db, logger: logger.child({ component: 'retention' }), registry },
    { defaultDays: config.RETENTION_DAYS, intervalMs: config.RETENTION_INTERVAL_MS },
  );
  lifecycle.add(retention);
  retention.start();

  // Before the writer: it checks every assigned partition's stored position against this cluster's log, and closes after it.
  const positions = new PositionCheck(
    { admin: kafka.admin(), db, logger: logger.child({ component: 'position-check' }), registry },
    { group: config.KAFKA_CONSUMER_GROUP, topic: config.KAFKA_TOPIC },
  );
  await positions.start();
  lifecycle.add(positions);

  const writer = new WriterConsumer(
    {
      consumer: kafka.consumer({
        groupId: config.KAFKA_CONSUMER_GROUP,
        sessionTimeout: config.CONSUMER_SESSION_TIMEOUT_MS,
        maxBytesPerPartition: config.CONSUMER_MAX_BYTES_PER_PARTITION,
        allowAutoTopicCreation: false,
      }),
      db,
      deadLettersStored: () => relay.kick(),
      logger: logger.child({ component: 'writer' }),
      registry,
      positions,
    },
    {
      group: config.KAFKA_CONSUMER_GROUP,
      topic: config.KAFKA_TOPIC,
      partitionsConsumedConcurrently: config.CONSUMER_PARTITIONS_CONCURRENTLY,
      maxRecordsPerTransaction: config.CONSUMER_MAX_RECORDS_PER_TRANSACTION,
      retryMaxDelayMs: config.CONSUMER_RETRY_MAX_DELAY_MS,
    },
  );
  lifecycle.add(writer);
  await writer.start();
  const lagMonitor = new LagMonitor(
    kafka.admin(),
    db,
    { group: config.KAFKA_CONSUMER_GROUP, topic: config.KAFKA_TOPIC, intervalMs: config.CONSUMER_LAG_INTERVAL_MS, assigned: () => writer.assignedPartitions() },
    logger.child({ component: 'lag-monitor' }),
    registry,
  );
  await lagMonitor.start();
  lifecycle.add(lagMonitor);

  const app = createConsumerApp({ lifecycle, registry, logger, trustProxyHops: config.TRUST_PROXY_HOPS });
  const server = await listen(app, config.CONSUMER_PORT, config.HOST, config);
  lifecycle.add(serverComponent('http', server));
  return { url: serverUrl(server), lifecycle, writer, stop: () => lifecycle.shutdown('stop') };
}
