import { Kafka, logLevel } from 'kafkajs';
import { readPositions, type Knex } from '@sitestream/db';
import type { LocalKafka } from '@sitestream/infra';
import { ensureTopics, filterKafkajsTimerWarning, loadConfig, pipelineTopics } from '@sitestream/shared';
import { createTestKey, uniqueKafkaNames } from '../../helpers/pipeline';
import { startThrowawayKafka, type ThrowawayKafka } from '../../helpers/kafka';
import { freePort, spawnService, type ServiceProcess } from '../../helpers/processes';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database';
import { waitFor } from '../../helpers/wait-for';
import { PrivatePostgres } from './private-postgres';

export interface StageOptions {
  /** 1: a single broker; 3: a replicated cluster (RF 3, min.insync.replicas 2). */
  brokers: 1 | 3;
  partitions?: number;
  /** Extra environment for every service process. */
  env?: Record<string, string>;
}

interface Proc extends ServiceProcess {
  url: string;
  alive: boolean;
}

/** What the rollup check needs to ask /stats through real HTTP. */
export interface StatsClient {
  url: string;
  headers: Record<string, string>;
}

/**
 * One fault scenario's world: its own Kafka (so it may kill it), its own PostgreSQL server (so it may stop it:
 * never the machine's shared one), and the services as real processes that can be killed, frozen and restarted.
 */
export class Stage {
  readonly ingests: Proc[] = [];
  readonly consumers: Proc[] = [];
  private reportingClient: StatsClient | undefined;
  private reportingProc: Proc | undefined;
  private constructor(
    private currentKafka: ThrowawayKafka,
    /** The scenario's own PostgreSQL server: stop, restart and terminate sessions on it freely. */
    readonly postgres: PrivatePostgres,
    readonly database: TestDatabase,
    readonly env: Record<string, string>,
    readonly partitions: number,
  ) {}

  static async create(options: StageOptions): Promise<Stage> {
    filterKafkajsTimerWarning();
    const postgres = await PrivatePostgres.start();
    let throwaway: ThrowawayKafka | undefined;
    try {
      throwaway = await startThrowawayKafka({ brokers: options.brokers });
      const database = await createTestDatabase(postgres.adminUrl);
      const partitions = options.partitions ?? 6;
      const env: Record<string, string> = {
        ...uniqueKafkaNames(),
        KAFKA_BROKERS: throwaway.kafka.bootstrap,
        DATABASE_URL: database.url,
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
        KAFKA_TOPIC_PARTITIONS: String(partitions),
        KAFKA_REPLICATION_FACTOR: String(options.brokers),
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
        DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '5000',
        INGEST_PRODUCE_TIMEOUT_MS: '3000',
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
        ...options.env,
      };
      await createTopics(throwaway.kafka.bootstrap, env);
      return new Stage(throwaway, postgres, database, env, partitions);
    } catch (err) {
      await throwaway?.stop();
      postgres.destroy();
      throw err;
    }
  }

  get kafka(): LocalKafka {
    return this.currentKafka.kafka;
  }

  /**
   * What a second clone or a removed Kafka data folder does to the same database: the services stopped (the consumer
   * once it stored all the old cluster held), the broker(s) destroyed with their data, and a freshly formatted cluster
   * (new data folder, new cluster id, its topics numbered from 0 again) started in their place. Services started
   * afterwards use the new cluster. Returns both cluster ids.
   */
  async replaceKafka(): Promise<{ before: string; after: string }> {
    for (const p of this.ingests) if (p.alive) await this.signal(p, 'SIGTERM');
    await this.waitCaughtUp();
    for (const p of this.consumers) if (p.alive) await this.signal(p, 'SIGTERM');
    const before = await clusterIdOf(this.kafka.bootstrap);
    await this.currentKafka.stop();
    this.currentKafka = await startThrowawayKafka({ brokers: this.kafka.brokers.length });
    this.env.KAFKA_BROKERS = this.kafka.bootstrap;
    await createTopics(this.kafka.bootstrap, this.env);
    return { before, after: await clusterIdOf(this.kafka.bootstrap) };
  }

  get db(): Knex {
    return this.database.db;
  }

  get topic(): string {
    return this.env.KAFKA_TOPIC!;
  }

  startIngest(): Promise<Proc> {
    return this.startService('ingest', 'INGEST_PORT', this.ingests);
  }

  startConsumer(): Promise<Proc> {
    return this.startService('consumer', 'CONSUMER_PORT', this.consumers);
  }

  private async startService(name: 'ingest' | 'consumer', portVariable: string, list: Proc[]): Promise<Proc> {
    const proc = await this.spawnReady(name, portVariable, {});
    list.push(proc);
    return proc;
  }

  /**
   * Starts a service on a free port and waits until it is ready. A port freePort handed out can be taken by some
   * other connection before the service binds it (a busy machine reuses ports within milliseconds): that start-up
   * failure, and only that one, is retried on a new port.
   */
  private async spawnReady(name: 'ingest' | 'consumer' | 'reporting', portVariable: string, extra: Record<string, string>): Promise<Proc> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const proc = this.track(spawnService(name, { ...this.env, ...extra, [portVariable]: String(port) }), `http://127.0.0.1:${port}`);
      try {
        await this.waitReady(proc);
        return proc;
      } catch (err) {
        if (attempt >= 3 || proc.alive || !/EADDRINUSE/.test((err as Error).message)) throw err;
        process.stderr.write(`${name}: port ${port} was taken before it bound it (attempt ${attempt}); retrying on a new port\n`);
      }
    }
  }

  ingestUrls = (): string[] => this.ingests.filter((p) => p.alive).map((p) => p.url);

  /** Sends a signal; for SIGKILL/SIGTERM waits until the process is gone. */
  async signal(proc: Proc, signal: NodeJS.Signals): Promise<void> {
    proc.child.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await proc.exited;
  }

  /** Partition → next offset the database holds for the group. */
  positions(): Promise<Map<number, number>> {
    return readPositions(this.db, this.env.KAFKA_CONSUMER_GROUP!, this.topic, Array.from({ length: this.partitions }, (_, p) => p));
  }

  /** A reporting process and an API key for every site, started on first use: /stats through real HTTP. */
  async stats(): Promise<StatsClient> {
    if (!this.reportingClient) {
      this.reportingProc = await this.spawnReady('reporting', 'REPORTING_PORT', { REPORTING_RATE_LIMIT_PER_MINUTE: '100000', REPORTING_KEY_MAX_CONCURRENT: '16' });
      const { headers } = await createTestKey(this.db, { name: 'fault-suite' });
      this.reportingClient = { url: this.reportingProc.url, headers };
    }
    return this.reportingClient;
  }

  /** Partition → high watermark (the offset the next record will get). */
  async highWatermarks(): Promise<Map<number, number>> {
    const admin = new Kafka({ brokers: this.kafka.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Waits until the database holds everything the topic held at `target` (default: now) and returns the
   * seconds it took: the recovery time when called right after a fault ends.
   */
  async waitCaughtUp(timeoutMs = 120_000, target?: Map<number, number>): Promise<number> {
    const started = Date.now();
    const goal = target ?? (await waitFor(() => this.highWatermarks(), { what: 'topic offsets', timeoutMs }));
    await waitFor(
      async () => {
        const positions = await this.positions();
        for (const [partition, high] of goal) if (high > 0 && (positions.get(partition) ?? 0) < high) return false;
        return true;
      },
      { what: 'consumer to catch up', timeoutMs, intervalMs: 200 },
    );
    return (Date.now() - started) / 1000;
  }

  /** Everything consumed: positions equal the high watermarks, read after the load has stopped. */
  async drain(timeoutMs = 180_000): Promise<void> {
    await this.waitCaughtUp(timeoutMs);
  }

  async stop(): Promise<void> {
    for (const p of this.processes()) if (p.alive) p.child.kill('SIGKILL');
    await this.currentKafka.stop();
    await this.database.db.destroy().catch(() => undefined);
    // The whole server goes, with the database in it.
    this.postgres.destroy();
  }

  /** Output of every process and the PostgreSQL log, for a failing scenario's report. */
  logs(): string {
    const services = this.processes().map((p) => `--- ${p.name} (${p.url})\n${p.output().slice(-4000)}`);
    return [...services, `--- postgres (port ${this.postgres.port})\n${this.postgres.logTail()}`].join('\n');
  }

  private processes(): Proc[] {
    return [...this.ingests, ...this.consumers, ...(this.reportingProc ? [this.reportingProc] : [])];
  }

  private track(proc: ServiceProcess, url: string): Proc {
    const tracked: Proc = Object.assign(proc, { url, alive: true });
    void proc.exited.then(() => (tracked.alive = false));
    return tracked;
  }

  private async waitReady(proc: Proc): Promise<void> {
    let exited: Error | undefined;
    await waitFor(
      async () => {
        if (!proc.alive) exited = new Error(`${proc.name} exited during start-up:\n${proc.output().slice(-2000)}`);
        if (exited) return true;
        return (await fetch(`${proc.url}/readyz`)).status === 200;
      },
      { what: `${proc.name} ready`, timeoutMs: 60_000, intervalMs: 200 },
    );
    // A process that died at start-up fails at once, with its output, instead of after the whole wait.
    if (exited) throw exited;
  }
}

/** The pipeline's topics on a new cluster, waiting until every partition has a leader. */
async function createTopics(bootstrap: string, env: Record<string, string>): Promise<void> {
  const admin = new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = pipelineTopics(loadConfig(env));
    // On a fresh 3-broker cluster, createTopics' wait for leaders can ask a broker that has not heard of the
    // topic yet and fail with UNKNOWN_TOPIC_OR_PARTITION (seen in a full run): retry until every partition has
    // a leader. ensureTopics creates only what is missing, so a retry never re-creates.
    await waitFor(
      async () => {
        await ensureTopics(admin, topics);
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
        return metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      },
      { what: 'topics with a leader on every partition', timeoutMs: 60_000, intervalMs: 500 },
    );
  } finally {
    await admin.disconnect();
  }
}

async function clusterIdOf(bootstrap: string): Promise<string> {
  const admin = new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.describeCluster()).clusterId;
  } finally {
    await admin.disconnect();
  }
}
