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
  startManagementListener,
  topicMaxMessageBytes,
  type Config,
  type Logger,
  type RunningService,
} from '@sitestream/shared';
import { createIngestApp } from './app';
import { Enricher } from './enrich/enricher';
import { CountryLookup, defaultCountryDatabase } from './enrich/geoip';
import { EventPublisher } from './event-publisher';

/** Wires the ingest service from validated config: Kafka producer → publisher → HTTP app → listening server. */
export async function startIngestService(config: Config, logger: Logger): Promise<RunningService & { publisher: EventPublisher }> {
  const registry = createMetricsRegistry('ingest');
  const lifecycle = new Lifecycle(logger);
  // First registered, so closed last: metrics stay readable while the service drains.
  const management = await startManagementListener(config, config.INGEST_MANAGEMENT_PORT, lifecycle, registry, logger);
  lifecycle.add(management.component);
  const kafka = createKafka(config, logger, 'ingest');
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, pipelineTopics(config));
  // A produce request stays below what the broker takes, with room for the request's own framing.
  const brokerMax = await topicMaxMessageBytes(admin, config.KAFKA_TOPIC);
  const maxBatchBytes = Math.min(config.INGEST_PRODUCE_MAX_BYTES, brokerMax === undefined ? Infinity : Math.max(1024, brokerMax - 16 * 1024));
  const producer = createProducer(kafka, { retry: { retries: 3, maxRetryTime: 1000 } });
  await producer.connect();
  const publisher = new EventPublisher(
    producer,
    admin,
    {
      topic: config.KAFKA_TOPIC,
      lingerMs: config.INGEST_LINGER_MS,
      maxBatch: config.INGEST_BATCH_MAX_MESSAGES,
      maxBatchBytes,
      maxBuffered: config.INGEST_MAX_BUFFERED_EVENTS,
      maxBufferedBytes: config.INGEST_MAX_BUFFERED_BYTES,
      timeoutMs: config.INGEST_PRODUCE_TIMEOUT_MS,
    },
    logger.child({ component: 'publisher' }),
    registry,
  );
  lifecycle.add(publisher);
  const countries = new CountryLookup(config.GEOIP_COUNTRY_DB || defaultCountryDatabase(), logger.child({ component: 'geoip' }));
  lifecycle.add(countries);
  const enricher = new Enricher(countries);
  const { listener } = createIngestApp({ config, logger, registry, lifecycle, publisher, enricher });
  const server = await listen(listener, config.INGEST_PORT, config.HOST, config);
  const http = serverComponent('http', server);
  // Components close in reverse: first stop accepting and send what lingers, so every request in flight gets
  // its answer (202, or 503 if the broker does not ack) before the server finishes closing; then disconnect.
  lifecycle.add({
    id: http.id,
    isReady: http.isReady,
    close: async () => {
      const closed = http.close();
      publisher.drain();
      await closed;
    },
  });
  return { url: serverUrl(server), managementUrl: management.url, lifecycle, publisher, stop: () => lifecycle.shutdown('stop') };
}
