import { Kafka, logLevel, Partitioners, type Admin, type KafkaConfig, type LogEntry, type Producer, type ProducerConfig } from 'kafkajs';
import type { Config } from './config';
import { kafkaBrokers } from './config';
import type { Logger } from './logger';

/** kafkajs logs through our pino logger, with its namespace as a field. */
function logCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const fields = { namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          logger.error(fields, message);
          break;
        case logLevel.WARN:
          logger.warn(fields, message);
          break;
        case logLevel.INFO:
          logger.debug(fields, message);
          break;
        default:
          logger.trace(fields, message);
      }
    };
}

let timerWarningFiltered = false;

/**
 * kafkajs 2.2.4 computes a negative delay in its request queue (network/requestQueue, throttle check);
 * Node 24 then prints a TimeoutNegativeWarning and uses 1 ms, which is what kafkajs meant. Filter just that
 * warning so real ones stay visible.
 */
export function filterKafkajsTimerWarning(): void {
  if (timerWarningFiltered) return;
  timerWarningFiltered = true;
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'TimeoutNegativeWarning') return;
    for (const listener of defaults) listener(warning);
  });
}

export function createKafka(config: Config, logger: Logger, clientSuffix: string): Kafka {
  filterKafkajsTimerWarning();
  return new Kafka({
    clientId: `${config.KAFKA_CLIENT_ID}-${clientSuffix}`,
    brokers: kafkaBrokers(config),
    logLevel: logLevel.INFO,
    logCreator: logCreator(logger.child({ component: 'kafkajs' })),
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 8 },
  });
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/** Creates the topics if missing; an existing topic is left as it is. */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], minInsyncReplicas?: number): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      ...t,
      configEntries: [...(t.configEntries ?? []), ...(minInsyncReplicas ? [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }] : [])],
    })),
  });
}

/** The topics every deployment needs, derived from config. */
export function pipelineTopics(config: Config): TopicSpec[] {
  return [
    {
      topic: config.KAFKA_TOPIC,
      numPartitions: config.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      // How long raw events stay replayable: what an erasure has to outlast on the topic (README, Data lifecycle).
      configEntries: [{ name: 'retention.ms', value: String(config.KAFKA_TOPIC_RETENTION_MS) }],
    },
    { topic: config.KAFKA_DLQ_TOPIC, numPartitions: 1, replicationFactor: config.KAFKA_REPLICATION_FACTOR },
  ];
}

/** Producers partition by key with the Java client's murmur2 (so site_id maps to the same partition everywhere). */
export function createProducer(kafka: Kafka, overrides: ProducerConfig = {}): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, ...overrides });
}

/** Records a topic holds (sum over partitions of high − low watermark): "did anything reach Kafka?". */
export async function countTopicRecords(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}
