import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createTestKey, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';
import { startPrometheus, type PrometheusServer } from './lib/prometheus-server';
import { requireTool, ROOT } from './lib/tools';

/**
 * A real Prometheus (Debian's binary) scrapes the real pipeline — ingest, consumer, reporting in this
 * process on ephemeral ports, against the real broker and a fresh database — every second, with
 * infra/prometheus/prometheus.yml's jobs and alerts.yml's rules. Everything is read back through
 * Prometheus's HTTP API, as Grafana and the alert rules read it.
 */

const PROM_DIR = join(ROOT, 'infra', 'prometheus');
const SENT = 600;
const INVALID = 7;
const STATS_QUERIES = 5;

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  [k: string]: unknown;
}

/** prometheus.yml with each job's discovery replaced by the pipeline's address, and a 1 s cadence. */
function configFor(pipeline: Pipeline): object {
  const base = parse(readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: ScrapeConfig[] };
  const urls: Record<string, string> = { ingest: pipeline.ingestManagementUrl, consumer: pipeline.consumerUrl, reporting: pipeline.reportingManagementUrl };
  return {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: base.rule_files.map((f) => join(PROM_DIR, f)),
    scrape_configs: base.scrape_configs.map((job) => {
      const url = urls[job.job_name];
      if (!url) throw new Error(`prometheus.yml has a job ${job.job_name} this test does not know`);
      return { job_name: job.job_name, metrics_path: job.metrics_path ?? '/metrics', static_configs: [{ targets: [new URL(url).host] }] };
    }),
  };
}

const event = (i: number) => ({
  site_id: `prom-site-${i % 20}`,
  event_type: i % 3 === 0 ? 'click' : 'page_view',
  path: `/page/${i % 11}`,
  user_id: `user-${i % 37}`,
  timestamp: new Date().toISOString(),
});

describe('Prometheus scraping the running pipeline', () => {
  let pipeline: Pipeline;
  let prom: PrometheusServer;

  beforeAll(async () => {
    const binary = requireTool('prometheus', 'apt-get install -y prometheus');
    pipeline = await startPipeline();
    prom = await startPrometheus(binary, configFor(pipeline));
  });

  afterAll(async () => {
    await prom?.stop();
    await pipeline?.stop();
  });

  it('scrapes all three services', async () => {
    await waitFor(async () => (await prom.query('up == 1')).length === 3, { what: 'three targets up', timeoutMs: 15_000 });
    const jobs = (await prom.query('up')).map((r) => r.metric.job).sort();
    expect(jobs).toEqual(['consumer', 'ingest', 'reporting']);
  });

  it('counts every accepted event, and the consumer writes them all until lag is back to zero', async () => {
    // The counter has been scraped at its starting value before any event is sent.
    await waitFor(async () => (await prom.scalar('sitestream_ingest_events_accepted_total{job="ingest"}')) === 0, { what: 'accepted counter at 0' });

    let accepted = 0;
    for (let start = 0; start < SENT; start += 200) {
      const batch = Array.from({ length: 200 }, (_, k) => event(start + k));
      const res = await postJson(`${pipeline.ingestUrl}/events`, { events: batch });
      expect(res.status).toBe(202);
      accepted += res.body.accepted as number;
    }
    const invalid = Array.from({ length: INVALID }, (_, k) => ({ ...event(k), timestamp: 'yesterday' }));
    expect((await postJson(`${pipeline.ingestUrl}/events`, { events: invalid })).status).toBe(400);
    expect(accepted).toBe(SENT);

    await waitFor(async () => (await prom.scalar('sitestream_ingest_events_accepted_total{job="ingest"}')) === SENT, {
      what: `Prometheus to see ${SENT} accepted events`,
    });
    expect(await prom.scalar('sum(sitestream_ingest_events_rejected_total{job="ingest", reason="invalid"})')).toBe(INVALID);
    // The increase over the last minute is what was sent (the counter started at 0 inside that window).
    const increase = await prom.scalar('sum(increase(sitestream_ingest_events_accepted_total{job="ingest"}[1m]))');
    expect(increase).toBeGreaterThanOrEqual(SENT * 0.99);
    expect(increase).toBeLessThanOrEqual(SENT * 1.5);

    await waitFor(async () => (await prom.scalar('sum(sitestream_consumer_events_written_total{job="consumer"})')) === SENT, {
      what: `Prometheus to see ${SENT} events written`,
    });
    // Lag is reported per partition the consumer wrote to: all of them here, and all back to zero.
    await waitFor(
      async () => {
        const lag = await prom.query('sitestream_consumer_lag_messages{job="consumer"}');
        return lag.length === pipeline.config.KAFKA_TOPIC_PARTITIONS && lag.every((s) => Number(s.value[1]) === 0);
      },
      { what: 'lag on every partition to be 0' },
    );
    // Every reason's series exists from the start at 0; none grew.
    expect(await prom.scalar('sum(sitestream_consumer_dead_lettered_total{job="consumer"})')).toBe(0);
    const rows = (await pipeline.db('analytics.website_events').count({ n: '*' }))[0] as { n: string | number };
    expect(Number(rows.n)).toBe(SENT);
  });

  it('sees stats requests in the reporting latency histogram', async () => {
    // Answered stats queries (200, with a key), not refusals: the latency of a refused request says nothing.
    const count = 'sum(sitestream_http_request_duration_seconds_count{job="reporting", route="/stats", status="200"})';
    const { headers } = await createTestKey(pipeline.db);
    const stats = async (i: number) => {
      const res = await fetch(`${pipeline.reportingUrl}/stats?site_id=prom-site-${i}&date=2025-01-01`, { headers });
      expect(res.status).toBe(200);
      await res.text();
    };
    // One request first, so the series exists before the rest arrive and rate() has an increase to see.
    await stats(0);
    await waitFor(async () => (await prom.scalar(count)) === 1, { what: 'the first /stats request in Prometheus' });
    for (let i = 1; i < STATS_QUERIES; i++) await stats(i);
    await waitFor(async () => (await prom.scalar(count)) === STATS_QUERIES, { what: `${STATS_QUERIES} /stats requests in Prometheus` });
    const p99 = await prom.scalar(
      'histogram_quantile(0.99, sum by (le) (rate(sitestream_http_request_duration_seconds_bucket{job="reporting", route="/stats", status="200"}[1m])))',
    );
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(5);
  });

  it('loads and evaluates every alert rule, and none is pending or firing for a healthy pipeline', async () => {
    const expected = (parse(readFileSync(join(PROM_DIR, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string }> }> }).groups
      .flatMap((g) => g.rules.map((r) => r.alert))
      .sort();
    type Rules = { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }> };
    const evaluated = await waitFor(
      async () => {
        const rules = (await prom.api<Rules>('/api/v1/rules')).groups.flatMap((g) => g.rules);
        return rules.length > 0 && rules.every((r) => !r.lastEvaluation.startsWith('0001')) && rules;
      },
      { what: 'every rule evaluated once' },
    );
    expect(evaluated.map((r) => r.name).sort()).toEqual(expected);
    expect(evaluated.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    // A rule can be pending for a moment while the pipeline starts (no commit yet, events arriving);
    // for a healthy pipeline that clears within a few evaluations, and nothing may stay active.
    await waitFor(async () => (await prom.api<{ alerts: unknown[] }>('/api/v1/alerts')).alerts.length === 0, {
      what: 'no pending or firing alerts',
      timeoutMs: 10_000,
    });
  });
});
