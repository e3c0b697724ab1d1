import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
// The config module alone: the whole shared package would load Kafka, Knex and Express for one list.
import { configDocs } from '../../shared/src/config';
import { requireTool, ROOT, run } from './lib/tools';

interface Healthcheck {
  test: string[] | string;
}
interface Service {
  image?: string;
  build?: { context: string; target: string };
  environment?: Record<string, string | number>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
  container_name?: string;
  restart?: string;
}

const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
// merge: true resolves the `<<: *anchor` keys as Compose does.
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const APP_SERVICES = ['migrate', 'ingest', 'consumer', 'reporting'] as const;

describe('docker-compose.yml', () => {
  it('passes dclint: the Compose specification schema and lint rules (tests/observability/dclint.json)', () => {
    const result = run(process.execPath, [
      join(ROOT, 'node_modules', 'dclint', 'bin', 'dclint.cjs'),
      '--config', join(__dirname, 'dclint.json'),
      '--max-warnings', '0',
      '--color', 'false',
      'docker-compose.yml',
    ]);
    expect({ status: result.status, output: result.output_ }).toEqual({ status: 0, output: expect.any(String) });
  });

  it('passes `docker-compose config` (Compose itself: references, interpolation, merge keys; needs no Docker engine)', () => {
    const dockerCompose = requireTool('docker-compose', 'apt-get install -y docker-compose');
    const result = run(dockerCompose, ['-f', 'docker-compose.yml', 'config', '-q']);
    expect({ status: result.status, output: result.output_ }).toEqual({ status: 0, output: '' });
  });

  it('runs the whole system: Kafka (KRaft, official image), PostgreSQL, migrations, the three services, Prometheus, Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['consumer', 'grafana', 'ingest', 'kafka', 'migrate', 'postgres', 'prometheus', 'reporting']);
    expect(services.kafka?.image).toMatch(/^apache\/kafka:4\./);
    expect(services.postgres?.image).toMatch(/^postgres:16/);
    const kafkaEnv = services.kafka?.environment ?? {};
    expect(kafkaEnv).toMatchObject({
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1,
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: 1,
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: 1,
    });
    // The address the services use must be one the broker advertises.
    expect(String(kafkaEnv.KAFKA_ADVERTISED_LISTENERS).split(',')).toContain('PLAINTEXT://kafka:9092');
  });

  it('configures the services only through variables the config schema knows, pointing at the compose network', () => {
    const known = new Set(configDocs().map((d) => d.name));
    for (const name of APP_SERVICES) {
      const env = services[name]?.environment ?? {};
      const unknown = Object.keys(env).filter((k) => !known.has(k));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
      expect({ service: name, env }).toMatchObject({
        service: name,
        env: { KAFKA_BROKERS: 'kafka:9092', HOST: '0.0.0.0', DATABASE_URL: expect.stringMatching(/@postgres:5432\/sitestream$/) },
      });
    }
    expect(services.ingest?.environment?.INGEST_PORT).toBe(8000);
    expect(services.reporting?.environment?.REPORTING_PORT).toBe(8001);
    expect(services.consumer?.environment?.CONSUMER_PORT).toBe(8002);
  });

  it('lets the consumer scale (--scale consumer=3): no container name, no host port', () => {
    const consumer = services.consumer as Service;
    expect(consumer.container_name).toBeUndefined();
    expect(consumer.ports).toBeUndefined();
    expect(consumer.expose).toEqual(['8002']);
    for (const s of Object.values(services)) expect(s.container_name).toBeUndefined();
  });

  it('starts things in order: health checks on every long-running service, depends_on conditions', () => {
    for (const [name, s] of Object.entries(services)) {
      if (name === 'migrate') continue;
      expect({ name, healthcheck: Boolean(s.healthcheck?.test) }).toEqual({ name, healthcheck: true });
    }
    for (const name of ['ingest', 'consumer', 'reporting'] as const) {
      const test = services[name]?.healthcheck?.test as string[];
      const port = { ingest: 8000, consumer: 8002, reporting: 8001 }[name];
      expect(test.join(' ')).toContain(`http://127.0.0.1:${port}/readyz`);
    }
    expect(services.migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(services.migrate?.restart).toBe('no');
    expect(services.ingest?.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' } });
    expect(services.consumer?.depends_on).toEqual({
      kafka: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
    expect(services.reporting?.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' } });
    expect(services.grafana?.depends_on).toMatchObject({ prometheus: { condition: 'service_healthy' } });
  });

  it('mounts only files that exist, and names every volume it uses', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const [source = ''] = v.split(':');
        if (source.startsWith('.')) expect({ name, source, exists: existsSync(join(ROOT, source)) }).toEqual({ name, source, exists: true });
        else expect({ name, source, declared: Boolean(compose.volumes && source in compose.volumes) }).toEqual({ name, source, declared: true });
      }
    }
  });

  it('Prometheus scrapes the compose services on the ports they listen on', () => {
    const prom = parse(readFileSync(join(ROOT, 'infra', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number; type: string }> }>;
    };
    const endpoints = prom.scrape_configs.map((j) => ({
      job: j.job_name,
      targets: [...(j.static_configs ?? []).flatMap((c) => c.targets), ...(j.dns_sd_configs ?? []).flatMap((c) => c.names.map((n) => `${n}:${c.port}`))],
    }));
    expect(endpoints).toEqual([
      { job: 'ingest', targets: ['ingest:9100'] },
      { job: 'consumer', targets: ['consumer:8002'] },
      { job: 'reporting', targets: ['reporting:9101'] },
    ]);
    expect(prom.scrape_configs.find((j) => j.job_name === 'consumer')?.dns_sd_configs?.[0]?.type).toBe('A');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = new Map<string, string[]>();
  let current = '';
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = from[2] ?? from[1] ?? '';
      stages.set(current, [line]);
    } else if (current) stages.get(current)?.push(line);
  }

  it('builds on node:24-slim in stages', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-slim$/m);
    expect([...stages.keys()]).toEqual(expect.arrayContaining(['build', 'deps', 'runtime', 'ingest', 'consumer', 'reporting', 'migrate']));
  });

  it('copies only files that exist in the repository', () => {
    const sources = lines
      .filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))
      .flatMap((l) => l.replace(/^COPY\s+/i, '').split(/\s+/).filter((t) => !t.startsWith('--')).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    const missing = sources.filter((s) => !existsSync(join(ROOT, s)));
    expect(missing).toEqual([]);
    // Everything a workspace needs to install is copied before `npm ci`.
    const workspaces = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const w of workspaces) expect(sources).toContain(`${w}/package.json`);
  });

  it('runs each service as `node <package>/dist/….js` in exec form (signals reach Node), and those files exist after the build', () => {
    const targets: Record<string, string> = { ingest: 'ingest/dist/main.js', consumer: 'consumer/dist/main.js', reporting: 'reporting/dist/main.js', migrate: 'infra/dist/db/cli.js' };
    for (const [stage, file] of Object.entries(targets)) {
      const cmd = stages.get(stage)?.find((l) => l.startsWith('CMD'));
      expect({ stage, cmd }).toEqual({ stage, cmd: `CMD ["node", "${file}"]` });
      expect({ file, built: existsSync(join(ROOT, file)) }).toEqual({ file, built: true });
    }
  });

  it('is what docker-compose.yml builds: each app service names an existing target', () => {
    for (const name of APP_SERVICES) {
      expect(services[name]?.build).toEqual({ context: '.', target: name });
      expect(stages.has(name)).toBe(true);
    }
  });

  it('.dockerignore keeps dependencies, build output, local data and git history out of the context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git', '.data']));
    // …but not what the build copies.
    expect(ignored).not.toEqual(expect.arrayContaining(['shared', 'package-lock.json', 'tsconfig.base.json']));
  });
});
