import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { startThrowawayKafka } from './kafka';

/**
 * What the tests run against, decided once per jest run:
 * - KAFKA_BROKERS / TEST_DATABASE_URL set: use them as they are;
 * - a Docker engine reachable: Kafka and PostgreSQL in throwaway containers (testcontainers);
 * - otherwise: a real Kafka broker started here as a local process, and the local PostgreSQL.
 */
export interface TestEnvironment {
  kafkaBrokers: string;
  /** A URL whose user may CREATE DATABASE; each test file makes its own database from it. */
  adminDatabaseUrl: string;
  stop(): Promise<void>;
}

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A Docker engine that answers its ping within 2 s (a socket file alone can be left over from a removed engine). */
async function dockerReachable(): Promise<boolean> {
  if (process.env.DOCKER_HOST) return true;
  if (!existsSync('/var/run/docker.sock')) return false;
  return new Promise((resolvePing) => {
    const req = request({ socketPath: '/var/run/docker.sock', path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolvePing(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePing(false));
    req.end();
  });
}

export async function startTestEnvironment(): Promise<TestEnvironment> {
  const stops: (() => Promise<void>)[] = [];
  let kafkaBrokers = process.env.KAFKA_BROKERS;
  let adminDatabaseUrl = process.env.TEST_DATABASE_URL;

  if ((!kafkaBrokers || !adminDatabaseUrl) && process.env.SITESTREAM_NO_DOCKER !== '1' && (await dockerReachable())) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    if (!kafkaBrokers) {
      const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start();
      kafkaBrokers = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
      stops.push(async () => void (await kafka.stop()));
    }
    if (!adminDatabaseUrl) {
      const pg = await new PostgreSqlContainer('postgres:16-alpine').start();
      adminDatabaseUrl = pg.getConnectionUri();
      stops.push(async () => void (await pg.stop()));
    }
  }

  if (!kafkaBrokers) {
    const local = await startThrowawayKafka({ brokers: 1 });
    kafkaBrokers = local.kafka.bootstrap;
    stops.push(local.stop);
  }

  return {
    kafkaBrokers,
    adminDatabaseUrl: adminDatabaseUrl ?? LOCAL_PG,
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
