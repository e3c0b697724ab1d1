import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, VISIT_TABLES, type Knex } from '@sitestream/db';
import { startLocalKafka, type LocalKafka } from '@sitestream/infra';
import { createKafka, ensureTopics, loadConfig } from '@sitestream/shared';
import { openBenchDatabase, silentLogger } from '../../reporting/lib/bench-db';
import { dropRows } from '../../reporting/lib/drop-rows';
import { freePort, startService, waitReady, type Service } from '../../reporting/lib/processes';

export const TOPIC = 'bench-events';
export const GROUP = 'bench-writer';

export interface SystemOptions {
  /** A bench database (sitestream_bench_*), dropped and recreated. */
  database: string;
  /** false: the bench drops every row headed for the visit tables (see reporting/lib/drop-rows.ts). */
  visits?: boolean;
  consumerNodeArgs?: string[];
  /** Settings added to (or replacing) the bench's own for all three services. */
  env?: Record<string, string>;
}

export interface Positions {
  /** Sum over partitions of Kafka's end offsets. */
  high: number;
  /** Sum over partitions of the positions the consumer stored with its rows in PostgreSQL. */
  stored: number;
  at: number;
}

export interface PipelineSystem {
  url: string;
  db: Knex;
  ingestUrl: string;
  reportingUrl: string;
  consumerMetricsUrl: string;
  /** A reporting API key for every site. */
  key: string;
  services: { ingest: Service; consumer: Service; reporting: Service };
  kafka: LocalKafka;
  /** Consumer lag = high − stored. */
  positions(): Promise<Positions>;
  stop(): Promise<void>;
}

/**
 * The whole pipeline on this machine, as production runs it: a local Kafka broker (6 partitions), a fresh bench
 * database, and ingest, consumer (rollups on) and reporting each as its own process from its dist/main.js.
 * Everything started is stopped by stop(), also when starting fails half-way.
 */
export async function startPipelineSystem(options: SystemOptions): Promise<PipelineSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sitestream-bench-kafka-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const kafka = await startLocalKafka({ dataDir, brokers: [{ nodeId: 1, port: await freePort(), controllerPort: await freePort() }] });
    cleanups.push(() => kafka.stop());
    const { url, db } = await openBenchDatabase(options.database, { fresh: true, poolMax: 2 });
    cleanups.push(() => db.destroy());
    if (options.visits === false) await dropRows(db, VISIT_TABLES);
    const ports = { ingest: await freePort(), consumer: await freePort(), reporting: await freePort() };
    const env = {
      DATABASE_URL: url,
      KAFKA_BROKERS: kafka.bootstrap,
      KAFKA_TOPIC: TOPIC,
      KAFKA_DLQ_TOPIC: `${TOPIC}.dlq`,
      KAFKA_CONSUMER_GROUP: GROUP,
      KAFKA_TOPIC_PARTITIONS: '6',
      HOST: '127.0.0.1',
      INGEST_PORT: String(ports.ingest),
      CONSUMER_PORT: String(ports.consumer),
      REPORTING_PORT: String(ports.reporting),
      REPORTING_RATE_LIMIT_PER_MINUTE: String(1e9),
      ...options.env,
    };
    const admin = createKafka(loadConfig({ ...process.env, ...env }), silentLogger, 'bench').admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await ensureTopics(admin, [
      { topic: TOPIC, numPartitions: 6, replicationFactor: 1 },
      { topic: `${TOPIC}.dlq`, numPartitions: 1, replicationFactor: 1 },
    ]);
    const services = {
      ingest: startService('ingest', env),
      consumer: startService('consumer', env, options.consumerNodeArgs),
      reporting: startService('reporting', env),
    };
    for (const s of Object.values(services)) cleanups.push(() => s.stop());
    for (const [name, port] of Object.entries(ports)) {
      await waitReady(`http://127.0.0.1:${port}`).catch((err: Error) => {
        throw new Error(`${name}: ${err.message}\n${services[name as keyof typeof services].output()}`);
      });
    }
    const { key } = await createApiKey(db, { name: 'bench' });
    const positions = async (): Promise<Positions> => {
      const [high, stored] = await Promise.all([
        admin.fetchTopicOffsets(TOPIC).then((ps) => ps.reduce((n, p) => n + Number(p.high), 0)),
        db.raw<{ rows: { n: number | null }[] }>('SELECT sum(next_offset) AS n FROM analytics.consumer_offsets WHERE consumer_group = ? AND topic = ?', [GROUP, TOPIC]),
      ]);
      return { high, stored: Number(stored.rows[0]!.n ?? 0), at: performance.now() };
    };
    return {
      url,
      db,
      ingestUrl: `http://127.0.0.1:${ports.ingest}`,
      reportingUrl: `http://127.0.0.1:${ports.reporting}`,
      consumerMetricsUrl: `http://127.0.0.1:${ports.consumer}/metrics`,
      key,
      services,
      kafka,
      positions,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
