import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin, type KafkaConfig, type LogEntry, type Producer, type ProducerConfig } from 'kafkajs';
import type { Config } from './config';
import { kafkaBrokers } from './config';
import type { Logger } from './logger';

/**
 * kafkajs logs at ERROR what it then retries — every error answer of the broker ("Response GroupCoordinator … The
 * group coordinator is not available"), and the consumer's "Crash: …" and "Restarting the consumer in …" whatever
 * it decides about a restart — which every start against a fresh broker meets. The error reaches the caller
 * (ingest answers 503 and logs it; the consumer's CRASH listener logs a restart as a warning and the end of
 * consuming as an error), so these lines are warnings: an ERROR line then means something to act on.
 */
export function kafkajsLogLevel(namespace: string, level: logLevel, message: string): logLevel {
  if (level !== logLevel.ERROR) return level;
  const retried =
    (namespace === 'Connection' && message.startsWith('Response ')) ||
    (namespace === 'Consumer' && (message.startsWith('Crash: ') || message.startsWith('Restarting the consumer')));
  return retried ? logLevel.WARN : level;
}

/** kafkajs logs through our pino logger, with its namespace as a field. */
function logCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const fields = { namespace, ...extra };
      switch (kafkajsLogLevel(namespace, level, message)) {
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

/**
 * The settings a topic is created with. With replicas, min.insync.replicas is 2 (or the given value): with acks=all
 * a write is then on at least two brokers before ingest answers 202, and a lone surviving leader refuses writes
 * rather than keep them on one disk. Kafka's default (1) would make acks=all mean "on the leader only".
 */
export function topicConfigEntries(spec: TopicSpec, minInsyncReplicas?: number): { name: string; value: string }[] {
  const minInsync = minInsyncReplicas ?? (spec.replicationFactor > 1 ? Math.min(2, spec.replicationFactor) : undefined);
  return minInsync ? [{ name: 'min.insync.replicas', value: String(minInsync) }] : [];
}

/** Creates the topics if missing; an existing topic is left as it is. */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], minInsyncReplicas?: number): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({ ...t, configEntries: [...(t.configEntries ?? []), ...topicConfigEntries(t, minInsyncReplicas)] })),
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

/**
 * The topic's max.message.bytes (the broker's message.max.bytes unless the topic overrides it): the largest record
 * batch the broker takes. Undefined when the broker does not say (then the configured size stands alone).
 */
export async function topicMaxMessageBytes(admin: Admin, topic: string): Promise<number | undefined> {
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
    });
    const value = Number(described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
