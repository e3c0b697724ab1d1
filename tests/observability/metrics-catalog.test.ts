import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createKafka, createLogger, createProducer } from '@sitestream/shared';
import { createTestKey, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';
import { readCatalog, type CatalogEntry } from './lib/catalog';
import { familyOf, parseExposition, sampleValue, type Family } from './lib/exposition';
import { metricNames } from './lib/promql';
import { ROOT } from './lib/tools';

type ServiceName = 'ingest' | 'consumer' | 'reporting';
const SERVICES: ServiceName[] = ['ingest', 'consumer', 'reporting'];
/** prom-client's defaults: summarised in the catalog, listed there only where the dashboard uses them. */
const NODE_DEFAULTS = /^sitestream_(process|nodejs)_/;
/**
 * Planned metrics the dashboard already shows (as "No data" until they exist). When one of them is
 * served, the planned-metrics test fails so that docs/metrics.md and this list are updated.
 */
const PLANNED_IN_DASHBOARD: string[] = [];

const catalog = readCatalog();
const served = new Map<ServiceName, Map<string, Family>>();
let pipeline: Pipeline;

const event = (i: number) => ({
  site_id: `catalog-site-${i % 4}`,
  event_type: 'page_view',
  path: `/p/${i}`,
  user_id: `u-${i}`,
  timestamp: new Date().toISOString(),
});

/** Every metric name a PromQL expression uses, mapped to its catalog row (histogram series to their family). */
function catalogRowsOf(expr: string): { known: CatalogEntry[]; unknown: string[] } {
  const known: CatalogEntry[] = [];
  const unknown: string[] = [];
  for (const name of metricNames(expr)) {
    if (name === 'up') continue;
    const row = familyOf(name, catalog);
    if (row) known.push(row);
    else unknown.push(name);
  }
  return { known, unknown };
}

beforeAll(async () => {
  pipeline = await startPipeline();
  // Traffic that makes the labelled series appear: accepted, rejected, a batch with both, stats queries,
  // and one record the consumer must dead-letter.
  expect((await postJson(`${pipeline.ingestUrl}/event`, event(0))).status).toBe(202);
  expect((await postJson(`${pipeline.ingestUrl}/event`, { site_id: 'x' })).status).toBe(400);
  expect((await postJson(`${pipeline.ingestUrl}/events`, { events: [event(1), event(2), { path: 1 }] })).status).toBe(207);
  expect((await postJson(`${pipeline.ingestUrl}/event`, { ...event(3), user_agent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' })).body.status).toBe('ignored');
  // A stats query that really runs (with a key: 200), and one refused before it (no key: 401).
  const { headers } = await createTestKey(pipeline.db);
  expect((await fetch(`${pipeline.reportingUrl}/stats?site_id=catalog-site-1&date=2025-01-01`, { headers })).status).toBe(200);
  expect((await fetch(`${pipeline.reportingUrl}/stats?date=not-a-date`)).status).toBe(401);
  const logger = createLogger(pipeline.config, 'test');
  const producer = createProducer(createKafka(pipeline.config, logger, 'test-poison'));
  await producer.connect();
  await producer.send({ topic: pipeline.config.KAFKA_TOPIC, messages: [{ key: 'catalog-site-0', value: 'not json' }] });
  await producer.disconnect();

  const urls: Record<ServiceName, string> = { ingest: pipeline.ingestManagementUrl, consumer: pipeline.consumerUrl, reporting: pipeline.reportingManagementUrl };
  await waitFor(
    async () => {
      const consumer = parseExposition(await (await fetch(`${urls.consumer}/metrics`)).text());
      return (sampleValue(consumer, 'sitestream_consumer_events_written_total') ?? 0) >= 3 && (sampleValue(consumer, 'sitestream_consumer_dead_lettered_total', { reason: 'invalid_json' }) ?? 0) >= 1 &&
        // Lag is measured on a timer (CONSUMER_LAG_INTERVAL_MS): wait for its first reading.
        (consumer.get('sitestream_consumer_lag_messages')?.samples.length ?? 0) > 0;
    },
    { what: 'the consumer to write 3 events and dead-letter 1 record' },
  );
  for (const s of SERVICES) served.set(s, parseExposition(await (await fetch(`${urls[s]}/metrics`)).text()));
});

afterAll(async () => {
  await pipeline?.stop();
});

describe('docs/metrics.md against what the services really serve', () => {
  it('every metric marked exported is served, with that type, by each service listed', () => {
    const exported = [...catalog.values()].filter((e) => e.status === 'exported');
    expect(exported.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const e of exported) {
      for (const s of e.services) {
        const family = served.get(s as ServiceName)?.get(e.name);
        if (!SERVICES.includes(s as ServiceName)) problems.push(`${e.name}: unknown service "${s}"`);
        else if (!family) problems.push(`${e.name}: not served by ${s}`);
        else if (family.type !== e.type) problems.push(`${e.name}: ${s} serves a ${family.type}, the catalog says ${e.type}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every sitestream_ metric a service serves has a row naming that service', () => {
    const missing: string[] = [];
    for (const [s, families] of served) {
      for (const name of families.keys()) {
        if (NODE_DEFAULTS.test(name) && !catalog.has(name)) continue;
        const row = catalog.get(name);
        if (!row || row.status !== 'exported' || !row.services.includes(s)) missing.push(`${name} (served by ${s})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('served series carry only the labels the catalog lists (plus service, and le on histograms)', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [s, families] of served) {
      for (const family of families.values()) {
        const row = catalog.get(family.name);
        if (!row) continue;
        const allowed = new Set([...row.labels, 'service', ...(family.type === 'histogram' ? ['le'] : [])]);
        for (const label of family.labels) {
          checked++;
          if (!allowed.has(label)) problems.push(`${family.name} (${s}) has label "${label}" not in the catalog`);
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(problems).toEqual([]);
  });

  it('labels that carry a value in the traffic above match the catalog rows exactly', () => {
    // The series this test's traffic created: their label sets must be the catalog's, not a subset.
    const expectations: Array<[ServiceName, string]> = [
      ['ingest', 'sitestream_ingest_events_rejected_total'],
      ['ingest', 'sitestream_http_request_duration_seconds'],
      ['consumer', 'sitestream_consumer_dead_lettered_total'],
      ['consumer', 'sitestream_consumer_lag_messages'],
      ['consumer', 'sitestream_consumer_batches_total'],
      ['reporting', 'sitestream_http_request_duration_seconds'],
      ['reporting', 'sitestream_reporting_query_duration_seconds'],
    ];
    for (const [s, name] of expectations) {
      const family = served.get(s)?.get(name);
      const labels = [...(family?.labels ?? [])].filter((l) => l !== 'service' && l !== 'le').sort();
      expect({ name, s, labels }).toEqual({ name, s, labels: [...(catalog.get(name)?.labels ?? [])].sort() });
    }
  });

  it('planned metrics are not served yet (when one is, mark its row exported)', () => {
    const planned = [...catalog.values()].filter((e) => e.status === 'planned');
    const nowServed = planned.filter((e) => SERVICES.some((s) => served.get(s)?.has(e.name))).map((e) => e.name);
    expect(nowServed).toEqual([]);
  });
});

describe('the dashboard and the alert rules use real metrics', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'infra', 'grafana', 'dashboards', 'sitestream.json'), 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  };
  const alerts = (parse(readFileSync(join(ROOT, 'infra', 'prometheus', 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap(
    (g) => g.rules,
  );

  it('every dashboard query uses only catalogued metrics; the planned ones among them are exactly the known list', () => {
    const unknown: string[] = [];
    const planned = new Set<string>();
    let used = 0;
    for (const panel of dashboard.panels) {
      for (const t of panel.targets ?? []) {
        const rows = catalogRowsOf(t.expr);
        used += rows.known.length;
        unknown.push(...rows.unknown.map((n) => `${n} (panel "${panel.title}")`));
        for (const r of rows.known) if (r.status === 'planned') planned.add(r.name);
      }
    }
    expect(used).toBeGreaterThan(30);
    expect(unknown).toEqual([]);
    if (planned.size > 0) {
      console.info(`Dashboard panels waiting for planned metrics (docs/metrics.md): ${[...planned].sort().join(', ')}`);
    }
    expect([...planned].sort()).toEqual(PLANNED_IN_DASHBOARD);
  });

  it('every dashboard metric marked exported is served by a service', () => {
    const notServed: string[] = [];
    for (const panel of dashboard.panels) {
      for (const t of panel.targets ?? []) {
        for (const r of catalogRowsOf(t.expr).known) {
          if (r.status === 'exported' && !SERVICES.some((s) => served.get(s)?.has(r.name))) notServed.push(r.name);
        }
      }
    }
    expect(notServed).toEqual([]);
  });

  it('alert rules use only metrics that are served now (an alert on a missing metric never fires)', () => {
    const problems: string[] = [];
    for (const rule of alerts) {
      const { known, unknown } = catalogRowsOf(rule.expr);
      problems.push(...unknown.map((n) => `${rule.alert}: ${n} is not in the catalog`));
      for (const r of known) {
        if (!SERVICES.some((s) => served.get(s)?.has(r.name))) problems.push(`${rule.alert}: ${r.name} is not served`);
      }
    }
    expect(alerts.length).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });
});
