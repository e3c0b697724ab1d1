import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import concurrently from 'concurrently';
import { createDb, ensureDatabase, migrateLatest } from '@sitestream/db';
import { createKafka, createLogger, ensureTopics, loadConfig, pipelineTopics, type Logger } from '@sitestream/shared';
import { createDevelopmentKey, statsExample } from './admin/development-key';
import { startLocalKafka, waitForCluster, type LocalKafka } from './kafka/local-kafka';

const ROOT = resolve(__dirname, '..', '..');
const DEFAULT_BROKER = '127.0.0.1:9092';

/**
 * `npm start`: the whole pipeline on one machine. Kafka (a local KRaft broker unless KAFKA_BROKERS points
 * elsewhere), the database and its migrations, the topics, then ingest, consumer and reporting as separate
 * processes with prefixed logs. Ctrl-C stops the services, then the broker.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: true }, 'start');

  let kafka: LocalKafka | undefined;
  if (config.KAFKA_BROKERS === DEFAULT_BROKER && !(await isListening(9092))) {
    logger.info('starting a local Kafka broker (KRaft) on 127.0.0.1:9092 …');
    kafka = await startLocalKafka({ dataDir: resolve(ROOT, '.data', 'kafka'), brokers: [{ nodeId: 1, port: 9092, controllerPort: 9093 }] });
    logger.info({ log: kafka.brokers[0]?.logFile }, 'Kafka ready');
  } else {
    logger.info({ brokers: config.KAFKA_BROKERS }, 'using the running Kafka');
    await waitForCluster(config.KAFKA_BROKERS, 1, 30_000);
  }
  const stopKafka = async () => {
    if (kafka) {
      logger.info('stopping Kafka …');
      await kafka.stop();
    }
  };

  let developmentKey: string;
  try {
    await preparePostgres(config.DATABASE_URL, logger);
    const db = createDb(config, logger, 'sitestream-start');
    try {
      const applied = await migrateLatest(db);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'database schema up to date');
      developmentKey = await createDevelopmentKey(db);
    } finally {
      await db.destroy();
    }
    const admin = createKafka(config, logger, 'start').admin();
    await admin.connect();
    await ensureTopics(admin, pipelineTopics(config));
    await admin.disconnect();
  } catch (err) {
    await stopKafka();
    throw err;
  }

  const env = { ...process.env, KAFKA_BROKERS: kafka?.bootstrap ?? config.KAFKA_BROKERS, LOG_PRETTY: process.env.LOG_PRETTY ?? 'true' };
  const service = (name: string, color: string) => ({
    name,
    prefixColor: color,
    command: `"${process.execPath}" ${resolve(ROOT, name, 'dist', 'main.js')}`,
    env,
  });
  const { result } = concurrently([service('ingest', 'cyan'), service('consumer', 'magenta'), service('reporting', 'green')], {
    prefix: 'name',
    killOthersOn: ['failure'],
    handleInput: false,
  });
  logger.info(
    `Sitestream is up: ingest http://localhost:${config.INGEST_PORT}/event · dashboard http://localhost:${config.REPORTING_PORT}/ · stats http://localhost:${config.REPORTING_PORT}/stats · metrics http://127.0.0.1:${config.INGEST_MANAGEMENT_PORT}/metrics, :${config.REPORTING_MANAGEMENT_PORT}/metrics, :${config.CONSUMER_PORT}/metrics — Ctrl-C stops everything`,
  );
  // Printed, not logged: the developer needs it on the terminal, and log pipelines must never carry keys.
  process.stdout.write(statsExample(developmentKey, config.REPORTING_PORT));
  let code = 0;
  try {
    await result;
  } catch {
    code = 1;
  }
  await stopKafka();
  process.exit(code);
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolveCheck) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveCheck(true);
    });
    socket.once('error', () => resolveCheck(false));
  });
}

/** Creates the database if missing; on a machine with Debian's PostgreSQL cluster stopped, starts it first. */
async function preparePostgres(databaseUrl: string, logger: Logger): Promise<void> {
  try {
    await ensureDatabase(databaseUrl);
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ECONNREFUSED' || !existsSync('/etc/postgresql')) throw err;
  }
  const version = readdirSync('/etc/postgresql')[0];
  logger.info(`PostgreSQL is not running; starting cluster ${version}/main …`);
  spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', String(version), 'main', 'start'], { stdio: 'inherit' });
  await ensureDatabase(databaseUrl);
}

main().catch((err: unknown) => {
  console.error('start failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
