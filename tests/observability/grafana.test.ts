import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './lib/tools';

const GRAFANA = join(ROOT, 'infra', 'grafana');

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}

const dashboard = JSON.parse(readFileSync(join(GRAFANA, 'dashboards', 'sitestream.json'), 'utf8')) as { uid: string; title: string; panels: Panel[] };
const datasources = parse(readFileSync(join(GRAFANA, 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')) as {
  datasources: Array<{ uid: string; type: string; url: string; isDefault?: boolean }>;
};
const providers = parse(readFileSync(join(GRAFANA, 'provisioning', 'dashboards', 'dashboards.yml'), 'utf8')) as {
  providers: Array<{ type: string; options: { path: string } }>;
};
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { volumes?: string[]; ports?: string[]; environment?: Record<string, string> }>;
};
const dataPanels = dashboard.panels.filter((p) => p.type !== 'row');

describe('Grafana provisioning and the Sitestream dashboard', () => {
  it('provisions one Prometheus data source that points at the compose Prometheus service', () => {
    expect(datasources.datasources).toHaveLength(1);
    const [ds] = datasources.datasources;
    expect(ds).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
    expect(Object.keys(compose.services)).toContain('prometheus');
  });

  it('loads dashboards from the folder docker-compose.yml mounts the dashboard JSON into', () => {
    const mounts = (compose.services.grafana?.volumes ?? []).map((v) => v.split(':'));
    const dashboardMount = mounts.find(([host]) => host === './infra/grafana/dashboards');
    const provisioningMount = mounts.find(([host]) => host === './infra/grafana/provisioning');
    expect(provisioningMount?.[1]).toBe('/etc/grafana/provisioning');
    expect(providers.providers).toHaveLength(1);
    expect(providers.providers[0]).toMatchObject({ type: 'file', options: { path: dashboardMount?.[1] } });
    // The home page is the Sitestream dashboard, at its path inside the container.
    const home = compose.services.grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    expect(home).toBe(`${dashboardMount?.[1]}/sitestream.json`);
  });

  it('every panel queries the provisioned data source and has a query; ids are unique; the grid is 24 wide', () => {
    const uid = datasources.datasources[0]?.uid;
    expect(dataPanels.length).toBeGreaterThan(10);
    for (const p of dataPanels) {
      expect({ title: p.title, ds: p.datasource?.uid }).toEqual({ title: p.title, ds: uid });
      expect({ title: p.title, queries: (p.targets ?? []).length > 0 }).toEqual({ title: p.title, queries: true });
      for (const t of p.targets ?? []) {
        expect({ title: p.title, ds: t.datasource?.uid, expr: Boolean(t.expr?.trim()) }).toEqual({ title: p.title, ds: uid, expr: true });
      }
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shows what SREs asked for: ingest rate and errors, latency p50/p99, lag, freshness, DB transaction time, dead letters, reporting latency', () => {
    const exprs = (pattern: RegExp) => dataPanels.filter((p) => (p.targets ?? []).some((t) => pattern.test(t.expr ?? '')));
    expect(exprs(/rate\(sitestream_ingest_events_accepted_total/).length).toBeGreaterThan(0);
    expect(exprs(/sitestream_ingest_events_rejected_total|sitestream_ingest_requests_refused_total/).length).toBeGreaterThan(0);
    for (const q of ['0.5', '0.99']) {
      expect(exprs(new RegExp(`histogram_quantile\\(${q.replace('.', '\\.')}, .*sitestream_http_request_duration_seconds_bucket\\{job="ingest"`)).length).toBeGreaterThan(0);
      expect(exprs(new RegExp(`histogram_quantile\\(${q.replace('.', '\\.')}, .*sitestream_http_request_duration_seconds_bucket\\{job="reporting"`)).length).toBeGreaterThan(0);
      expect(exprs(new RegExp(`histogram_quantile\\(${q.replace('.', '\\.')}, .*sitestream_consumer_transaction_duration_seconds_bucket`)).length).toBeGreaterThan(0);
    }
    expect(exprs(/sitestream_consumer_lag_messages/).length).toBeGreaterThan(0);
    expect(exprs(/sitestream_consumer_freshness_seconds/).length).toBeGreaterThan(0);
    expect(exprs(/sitestream_consumer_dead_lettered_total/).length).toBeGreaterThan(0);
  });
});
