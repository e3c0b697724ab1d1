import { freePort, spawnService, type ServiceProcess } from '../helpers/processes';
import { createTestKey, getJson, postJson, uniqueKafkaNames } from '../helpers/pipeline';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

/**
 * The three services as real processes started from their compiled entry points, as npm start and the
 * Docker images run them: they start, serve the seed contract, and exit 0 on SIGTERM.
 */
describe('services as processes', () => {
  let database: TestDatabase;
  let procs: ServiceProcess[] = [];
  let ports: { ingest: number; reporting: number; consumer: number };
  let management: { ingest: number; reporting: number; consumer: number };

  beforeAll(async () => {
    database = await createTestDatabase();
    ports = { ingest: await freePort(), reporting: await freePort(), consumer: await freePort() };
    // The consumer has no public port: its one listener is its management listener.
    management = { ingest: await freePort(), reporting: await freePort(), consumer: ports.consumer };
    const env = {
      ...Object.fromEntries(Object.entries(uniqueKafkaNames()).map(([k, v]) => [k, String(v)])),
      DATABASE_URL: database.url,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      HOST: '127.0.0.1',
      INGEST_PORT: String(ports.ingest),
      REPORTING_PORT: String(ports.reporting),
      CONSUMER_PORT: String(ports.consumer),
      INGEST_MANAGEMENT_PORT: String(management.ingest),
      REPORTING_MANAGEMENT_PORT: String(management.reporting),
      KAFKA_TOPIC_PARTITIONS: '2',
      LOG_LEVEL: 'warn',
    };
    procs = [spawnService('ingest', env), spawnService('consumer', env), spawnService('reporting', env)];
    // In parallel, each within 60 s: shorter than this hook's own 90 s, so a slow service is named.
    await Promise.all(
      Object.entries(ports).map(([name, port]) =>
        waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, { what: `${name} ready`, timeoutMs: 60_000 }),
      ),
    );
  }, 90_000);
  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await database?.drop();
  });

  it('serves the seed example end to end', async () => {
    const posted = await postJson(`http://127.0.0.1:${ports.ingest}/event`, {
      site_id: 'site-abc-123',
      event_type: 'page_view',
      path: '/pricing',
      user_id: 'user-xyz-789',
      timestamp: '2025-11-16T10:00:00Z',
    });
    expect(posted.status).toBe(202);
    const { headers } = await createTestKey(database.db, { siteIds: ['site-abc-123'] });
    const stats = await waitFor(async () => {
      const r = await getJson(`http://127.0.0.1:${ports.reporting}/stats?site_id=site-abc-123&date=2025-11-16`, headers);
      return r.body.total_views === 1 ? r.body : undefined;
    });
    expect(stats).toMatchObject({ site_id: 'site-abc-123', date: '2025-11-16', total_views: 1, unique_users: 1, top_paths: [{ path: '/pricing', views: 1 }] });
    expect(Object.keys(stats).slice(0, 5)).toEqual(['site_id', 'date', 'total_views', 'unique_users', 'top_paths']);
  });

  it('exposes health and readiness on every port, Prometheus metrics on the management ports only', async () => {
    for (const port of [ports.ingest, ports.reporting]) {
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    }
    for (const port of Object.values(management)) {
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('sitestream_build_info');
      expect(metrics).toContain('sitestream_process_cpu_seconds_total');
    }
  });

  it('when each service gets SIGTERM, then it exits 0', async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0, 0]);
  });
});
