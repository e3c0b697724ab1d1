import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { filterKafkajsTimerWarning } from '@sitestream/shared';

/** infra/kafka: the pom that names the broker's jars, and the git-ignored cache they are copied into. */
export const KAFKA_HOME = resolve(__dirname, '..', '..', 'kafka');
const LIBS = join(KAFKA_HOME, '.cache', 'libs');

export interface BrokerSpec {
  nodeId: number;
  port: number;
  controllerPort: number;
}

export interface LocalKafkaOptions {
  /** Where the broker keeps its logs and metadata; formatted on first use. */
  dataDir: string;
  /** One entry for a single node; three for a replicated cluster on loopback ports. */
  brokers: BrokerSpec[];
  heapMb?: number;
  readyTimeoutMs?: number;
}

export interface LocalKafka {
  /** Bootstrap string for clients, e.g. "127.0.0.1:9092". */
  bootstrap: string;
  brokers: BrokerProcess[];
  stop(): Promise<void>;
}

export interface BrokerProcess {
  spec: BrokerSpec;
  child: ChildProcess;
  logFile: string;
  /** Sends SIGKILL (hard) or SIGTERM (clean) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the same broker again (after a kill), on the same data. */
  restart(): Promise<void>;
}

/** Copies Kafka's jars from Maven Central into infra/kafka/.cache/libs, once. */
export function ensureKafkaJars(log: (msg: string) => void = () => undefined): string {
  if (existsSync(LIBS) && readdirSync(LIBS).some((f) => f.startsWith('kafka_2.13-'))) return LIBS;
  log('resolving Apache Kafka from Maven Central (first run only)…');
  const mvn = spawnSync(
    'mvn',
    ['-q', '-B', '-f', join(KAFKA_HOME, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${LIBS}`, '-DincludeScope=runtime'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (mvn.error) throw new Error(`could not run Maven (is it installed?): ${mvn.error.message}`);
  if (mvn.status !== 0) throw new Error(`Maven could not resolve Kafka (exit ${mvn.status})`);
  return LIBS;
}

function classpath(): string {
  return `${ensureKafkaJars()}/*`;
}

/**
 * Kafka cluster ids are 16 random bytes in URL-safe base64 without padding. Like Kafka's own Uuid.randomUuid,
 * never one that starts with "-": command-line parsers take such a value for an option.
 */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function properties(spec: BrokerSpec, all: BrokerSpec[], logDir: string): string {
  const voters = all.map((b) => `${b.nodeId}@127.0.0.1:${b.controllerPort}`).join(',');
  const rf = Math.min(3, all.length);
  return [
    'process.roles=broker,controller',
    `node.id=${spec.nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${spec.port},CONTROLLER://127.0.0.1:${spec.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${spec.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=1',
    // Internal topics must fit the cluster, or kafkajs consumers loop on "group coordinator not available".
    `offsets.topic.replication.factor=${rf}`,
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${Math.min(2, rf)}`,
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${Math.min(2, rf)}`,
    'unclean.leader.election.enable=false',
    'auto.create.topics.enable=false',
    'group.initial.rebalance.delay.ms=0',
    // Sized for a 2-core machine shared with the services and PostgreSQL.
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'num.recovery.threads.per.data.dir=1',
    'log.cleaner.threads=1',
    'offsets.topic.num.partitions=10',
    '',
  ].join('\n');
}

const LOG4J = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
`;

function javaArgs(heapMb: number, log4j: string, props: string): string[] {
  return [
    // The whole heap committed and touched at start, as Kafka's own start script sizes it (-Xms = -Xmx): a heap
    // that grows towards -Xmx shows as RSS climbing for the broker's first tens of minutes (bench:soak measured
    // 1.16 MB/min at 2,600 events/s with -Xms256m), which an SRE cannot tell from a leak.
    `-Xms${heapMb}m`,
    `-Xmx${heapMb}m`,
    '-XX:+AlwaysPreTouch',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4j}`,
    '-cp',
    classpath(),
    'kafka.Kafka',
    props,
  ];
}

function format(props: string, clusterId: string, log4j: string): void {
  const result = spawnSync('java', ['-cp', classpath(), `-Dlog4j2.configurationFile=${log4j}`, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, `--config=${props}`, '--ignore-formatted'], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`kafka storage format failed: ${result.stderr || result.stdout}`);
}

/**
 * Starts a real Apache Kafka broker (KRaft, combined broker+controller) — or several on loopback ports —
 * as child processes, and resolves once the cluster answers metadata requests with every broker present.
 */
export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const { dataDir, brokers: specs } = options;
  const heapMb = options.heapMb ?? (specs.length > 1 ? 384 : 512);
  mkdirSync(dataDir, { recursive: true });
  const log4j = join(dataDir, 'log4j2.properties');
  writeFileSync(log4j, LOG4J);
  const clusterFile = join(dataDir, 'cluster.id');
  const layout = specs.map((s) => `${s.nodeId}:${s.port}:${s.controllerPort}`).join(',');
  const layoutFile = join(dataDir, 'layout');
  if (existsSync(layoutFile) && readFileSync(layoutFile, 'utf8') !== layout) {
    throw new Error(`${dataDir} holds a cluster with another layout; remove it or use another folder`);
  }
  writeFileSync(layoutFile, layout);
  if (!existsSync(clusterFile)) writeFileSync(clusterFile, newClusterId());
  const clusterId = readFileSync(clusterFile, 'utf8').trim();

  const brokers: BrokerProcess[] = specs.map((spec) => {
    const dir = join(dataDir, `node-${spec.nodeId}`);
    mkdirSync(dir, { recursive: true });
    const props = join(dir, 'server.properties');
    writeFileSync(props, properties(spec, specs, join(dir, 'data')));
    format(props, clusterId, log4j);
    const logFile = join(dir, 'broker.log');
    const launch = (): ChildProcess => {
      const out = createWriteStream(logFile, { flags: 'a' });
      const child = spawn('java', javaArgs(heapMb, log4j, props), { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
      return child;
    };
    const proc: BrokerProcess = {
      spec,
      child: launch(),
      logFile,
      kill: (signal = 'SIGTERM') => stopChild(proc.child, signal),
      restart: async () => {
        await stopChild(proc.child, 'SIGKILL');
        proc.child = launch();
      },
    };
    return proc;
  });

  const bootstrap = specs.map((s) => `127.0.0.1:${s.port}`).join(',');
  const stop = async () => {
    await Promise.all(brokers.map((b) => b.kill('SIGTERM')));
  };
  try {
    await waitForCluster(bootstrap, specs.length, options.readyTimeoutMs ?? 90_000, brokers, clusterId);
  } catch (err) {
    await Promise.all(brokers.map((b) => b.kill('SIGKILL')));
    throw err;
  }
  return { bootstrap, brokers, stop };
}

/**
 * Polls until the cluster reports every broker and a controller; fails fast when a broker process dies. With
 * `clusterId`, only that cluster counts: a foreign broker already listening on the port (another test's, or a
 * port handed out twice) is reported at once, never mistaken for ours.
 */
export async function waitForCluster(bootstrap: string, expectedBrokers: number, timeoutMs: number, procs: BrokerProcess[] = [], clusterId?: string): Promise<void> {
  filterKafkajsTimerWarning();
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not reachable yet';
  while (Date.now() < deadline) {
    const dead = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead) {
      const tail = existsSync(dead.logFile) ? readFileSync(dead.logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      // The first ERROR of every node too: the tail is often only the shutdown that followed the cause.
      const causes = procs
        .map((p) => `node ${p.spec.nodeId}: ${existsSync(p.logFile) ? (readFileSync(p.logFile, 'utf8').split('\n').find((l) => / (ERROR|FATAL) /.test(l)) ?? 'no error logged') : 'no log'}`)
        .join('\n');
      throw new Error(`Kafka broker ${dead.spec.nodeId} exited during start-up (see ${dead.logFile}):\n${tail}\nfirst errors:\n${causes}`);
    }
    const kafka = new Kafka({ clientId: 'sitestream-wait', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 1000, retry: { retries: 0 } });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (clusterId !== undefined && cluster.clusterId !== clusterId) {
        throw new ForeignClusterError(`${bootstrap} is answered by another Kafka cluster (${cluster.clusterId}, expected ${clusterId}): is the port taken?`);
      }
      if (cluster.brokers.length >= expectedBrokers && cluster.controller !== null) return;
      lastError = `${cluster.brokers.length}/${expectedBrokers} brokers registered`;
    } catch (err) {
      if (err instanceof ForeignClusterError) throw err;
      lastError = (err as Error).message;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Kafka at ${bootstrap} not ready after ${timeoutMs} ms: ${lastError}`);
}

class ForeignClusterError extends Error {}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    const escalate = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(escalate);
      resolveExit();
    });
    child.kill(signal);
  });
}
