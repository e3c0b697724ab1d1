import { bool, cleanEnv, host, num, port, str, url } from 'envalid';
import { ConfigError } from './errors';

/**
 * Every setting of every service, read from the environment once, validated, then frozen.
 * Each entry documents its variable, format and default; README's configuration table mirrors this.
 */
const spec = {
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], desc: 'pino log level' }),
  LOG_PRETTY: bool({ default: false, desc: 'human-readable logs (npm start turns this on)' }),
  HOST: host({ default: '0.0.0.0', desc: 'interface the HTTP servers bind to' }),
  INGEST_PORT: port({ default: 8000, desc: 'ingest API port' }),
  REPORTING_PORT: port({ default: 8001, desc: 'reporting (stats) API port' }),
  CONSUMER_PORT: port({ default: 8002, desc: 'consumer health/metrics port' }),
  MANAGEMENT_HOST: host({ default: '127.0.0.1', desc: 'interface the management listeners of ingest and reporting (GET /metrics, /healthz, /readyz) bind to; never the public one' }),
  INGEST_MANAGEMENT_PORT: num({ default: 9100, desc: 'ingest management port: /metrics is served here, not on INGEST_PORT (0: any free port)' }),
  REPORTING_MANAGEMENT_PORT: num({ default: 9101, desc: 'reporting management port: /metrics is served here, not on REPORTING_PORT (0: any free port)' }),

  DATABASE_URL: url({ default: 'postgres://postgres@127.0.0.1:5432/sitestream', desc: 'PostgreSQL connection URL; the database is created if missing' }),
  DB_POOL_MAX: num({ default: 10, desc: 'max connections per service pool' }),
  DB_STATEMENT_TIMEOUT_MS: num({ default: 10000, desc: 'statement_timeout for every pooled connection' }),

  KAFKA_BROKERS: str({ default: '127.0.0.1:9092', desc: 'comma-separated bootstrap brokers; npm start runs a local broker when this is the default' }),
  KAFKA_CLIENT_ID: str({ default: 'sitestream', desc: 'Kafka client id prefix' }),
  KAFKA_TOPIC: str({ default: 'website-events', desc: 'events topic (created if missing)' }),
  KAFKA_DLQ_TOPIC: str({ default: 'website-events.dlq', desc: 'dead-letter topic for records the consumer cannot store' }),
  KAFKA_TOPIC_PARTITIONS: num({ default: 6, desc: 'partition count used when the topic is created' }),
  KAFKA_REPLICATION_FACTOR: num({ default: 1, desc: 'replication factor used when the topic is created' }),
  KAFKA_CONSUMER_GROUP: str({ default: 'sitestream-writer', desc: 'consumer group of the writer' }),

  INGEST_PRODUCE_TIMEOUT_MS: num({ default: 5000, desc: 'deadline for the broker to acknowledge an event before ingest answers 503' }),
  INGEST_LINGER_MS: num({ default: 2, desc: 'while a produce request is in flight, how long new events may wait to join the next one (an idle ingest sends at once)' }),
  INGEST_BATCH_MAX_MESSAGES: num({ default: 1000, desc: 'max events per produce request' }),
  INGEST_MAX_BUFFERED_EVENTS: num({ default: 50000, desc: 'events waiting for the broker before ingest answers 503' }),
  INGEST_MAX_BUFFERED_BYTES: num({ default: 67108864, desc: 'bytes of events waiting for the broker before ingest answers 503' }),
  INGEST_PRODUCE_MAX_BYTES: num({ default: 900000, desc: "bytes of records per produce request; lowered at start to the topic's max.message.bytes less a margin, so no request is too large for the broker" }),
  INGEST_BODY_LIMIT_BYTES: num({ default: 1048576, desc: 'max request body (after decompression)' }),
  INGEST_MAX_BATCH_EVENTS: num({ default: 500, desc: 'max events in one POST /events' }),
  INGEST_SITE_EVENTS_PER_SECOND: num({ default: 10000, desc: 'events per second per site_id (token bucket, 1 s burst) before ingest answers 429 for that site; 0 = off' }),
  INGEST_CLIENT_EVENTS_PER_SECOND: num({ default: 0, desc: 'events per second per client address (token bucket, 1 s burst) before 429; 0 = off (a busy site may relay from few addresses)' }),
  INGEST_SITES: str({ default: '', desc: 'comma-separated site_ids: when set, only these are accepted (others 403 SITE_NOT_ALLOWED)' }),
  INGEST_NEW_SITES_PER_HOUR: num({ default: 1000, desc: 'site_ids not seen before that one ingest process accepts per hour (without INGEST_SITES); past it 429; 0 = off' }),
  INGEST_MAX_FUTURE_SKEW_S: num({ default: 86400, desc: 'how far in the future an event timestamp may be (client clock skew)' }),
  GEOIP_COUNTRY_DB: str({ default: '', desc: 'MMDB country database (e.g. a GeoLite2-Country.mmdb); empty: the one shipped with ingest. Reloaded when the file changes' }),
  HTTP_HEADERS_TIMEOUT_MS: num({ default: 10000, desc: 'a client must send its request headers within this time, or its connection is closed' }),
  HTTP_REQUEST_TIMEOUT_MS: num({ default: 30000, desc: 'a client must send its whole request (headers and body) within this time, or it gets 408 and its connection is closed' }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: num({ default: 5000, desc: 'an idle keep-alive connection is closed after this time' }),
  HTTP_MAX_CONNECTIONS: num({ default: 2000, desc: 'open connections per HTTP listener; past it new connections are closed at once' }),
  INGEST_MAX_PENDING_BODY_BYTES: num({ default: 67108864, desc: 'bytes held for request bodies still arriving (after decompression), per ingest process; past it a body is refused 503 OVERLOADED' }),
  TRUST_PROXY_HOPS: num({ default: 0, desc: 'number of reverse proxies in front of the APIs (never "true")' }),

  CONSUMER_MAX_BYTES_PER_PARTITION: num({ default: 1048576, desc: 'kafkajs maxBytesPerPartition: caps a batch' }),
  CONSUMER_MAX_RECORDS_PER_TRANSACTION: num({ default: 1000, desc: 'records the consumer writes per transaction; a bigger fetch (a backlog) is written in slices of this many' }),
  CONSUMER_SESSION_TIMEOUT_MS: num({ default: 30000, desc: 'consumer group session timeout' }),
  CONSUMER_PARTITIONS_CONCURRENTLY: num({ default: 2, desc: 'partitions processed in parallel by one consumer' }),
  CONSUMER_LAG_INTERVAL_MS: num({ default: 2000, desc: 'how often the consumer measures its lag per partition (sitestream_consumer_lag_messages)' }),
  CONSUMER_RETRY_MAX_DELAY_MS: num({ default: 5000, desc: 'longest wait between retries of a batch after a transient database error; a batch failing with any other non-data error is retried at this pace and the partition reported stuck' }),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: num({ default: 15000, desc: 'idle_in_transaction_session_timeout: frees the partition lock of a frozen (zombie) consumer' }),
  RETENTION_DAYS: num({ default: 0, desc: 'raw events are kept for today and this many previous days of the site\'s zone, for sites without their own period (admin sites set-retention); 0 = keep everything' }),
  RETENTION_INTERVAL_MS: num({ default: 3600000, desc: 'how often a consumer applies retention (one process at a time, by advisory lock)' }),
  KAFKA_TOPIC_RETENTION_MS: num({ default: 604800000, desc: 'retention.ms of the events topic when it is created: how long raw events stay replayable in Kafka (see Data lifecycle)' }),
  REPORTING_STATEMENT_TIMEOUT_MS: num({ default: 5000, desc: 'statement_timeout of the reporting service\'s queries (a longer date range answers 503 QUERY_TIMEOUT)' }),
  REPORTING_RATE_LIMIT_PER_MINUTE: num({ default: 600, desc: 'requests per minute per API key before reporting answers 429' }),
  REPORTING_AUTH_FAILURES_PER_MINUTE: num({ default: 60, desc: 'failed key lookups (unknown, revoked or expired keys) per minute per client address; past it, keys not seen valid recently get 429 without a lookup' }),
  REPORTING_KEY_MAX_CONCURRENT: num({ default: 2, desc: '/stats requests of one API key in flight at once; past it 429' }),
  REPORTING_QUERY_ROLLUP_INTERVAL_MS: num({ default: 60000, desc: "how often reporting builds the query API's per-day rows of closed days that have none or went stale (one process at a time, by advisory lock); 0 = never (queries then read the raw tables)" }),
  REPORTING_MAX_CONCURRENT_RANGES: num({ default: 4, desc: 'range (from/to) queries in flight per reporting process, below DB_POOL_MAX so one-day queries always find a connection; past it 503 BUSY' }),
} as const;

type Parsed = ReturnType<typeof cleanEnv<typeof spec>>;
export type Config = Readonly<{ [K in keyof typeof spec]: Parsed[K] }>;

export interface ConfigDoc {
  name: string;
  default: unknown;
  desc: string;
}

/** Reads and validates the environment; throws one error listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const cleaned = cleanEnv(env, spec, {
    reporter: ({ errors }) => {
      for (const [name, err] of Object.entries(errors)) problems.push(`${name}: ${err?.message ?? 'invalid'}`);
    },
  });
  if (problems.length > 0) throw new ConfigError(problems);
  const config = { ...cleaned } as unknown as Config & Record<string, unknown>;
  if (config.KAFKA_TOPIC_PARTITIONS < 1) problems.push('KAFKA_TOPIC_PARTITIONS: must be >= 1');
  if (config.INGEST_BATCH_MAX_MESSAGES < 1) problems.push('INGEST_BATCH_MAX_MESSAGES: must be >= 1');
  if (config.HTTP_HEADERS_TIMEOUT_MS < 1 || config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS: must be >= 1 and at most HTTP_REQUEST_TIMEOUT_MS');
  }
  for (const name of ['INGEST_SITE_EVENTS_PER_SECOND', 'INGEST_CLIENT_EVENTS_PER_SECOND', 'INGEST_NEW_SITES_PER_HOUR'] as const) {
    if (!(config[name] >= 0)) problems.push(`${name}: must be >= 0 (0 = off)`);
  }
  if (config.INGEST_PRODUCE_MAX_BYTES < 16384) problems.push('INGEST_PRODUCE_MAX_BYTES: must be >= 16384');
  for (const name of ['INGEST_MANAGEMENT_PORT', 'REPORTING_MANAGEMENT_PORT'] as const) {
    if (!Number.isInteger(config[name]) || config[name] < 0 || config[name] > 65535) problems.push(`${name}: must be a port (0 to 65535)`);
  }
  if (config.CONSUMER_MAX_RECORDS_PER_TRANSACTION < 1) problems.push('CONSUMER_MAX_RECORDS_PER_TRANSACTION: must be >= 1');
  if (config.REPORTING_KEY_MAX_CONCURRENT < 1) problems.push('REPORTING_KEY_MAX_CONCURRENT: must be >= 1');
  if (config.REPORTING_MAX_CONCURRENT_RANGES < 1 || config.REPORTING_MAX_CONCURRENT_RANGES >= config.DB_POOL_MAX) {
    problems.push('REPORTING_MAX_CONCURRENT_RANGES: must be >= 1 and below DB_POOL_MAX');
  }
  if (config.HTTP_MAX_CONNECTIONS < 1) problems.push('HTTP_MAX_CONNECTIONS: must be >= 1');
  if (config.INGEST_MAX_PENDING_BODY_BYTES < config.INGEST_BODY_LIMIT_BYTES) {
    problems.push('INGEST_MAX_PENDING_BODY_BYTES: must be at least INGEST_BODY_LIMIT_BYTES');
  }
  if (config.TRUST_PROXY_HOPS < 0 || !Number.isInteger(config.TRUST_PROXY_HOPS)) problems.push('TRUST_PROXY_HOPS: must be a whole number >= 0');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as Config;
}

/** For README generation and `--help` style output. */
export function configDocs(): ConfigDoc[] {
  return Object.entries(spec).map(([name, v]) => ({
    name,
    default: (v as { default?: unknown }).default,
    desc: (v as { desc?: string }).desc ?? '',
  }));
}

export function kafkaBrokers(config: Config): string[] {
  return config.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean);
}
