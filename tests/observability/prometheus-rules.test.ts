import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { substituteGrafanaVariables } from './lib/promql';
import { requireTool, ROOT, run } from './lib/tools';

const PROM_DIR = join(ROOT, 'infra', 'prometheus');
const INSTALL = 'apt-get install -y prometheus';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTestCase {
  name?: string;
  alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts?: unknown[] }>;
}

const rules: Rule[] = (parse(readFileSync(join(PROM_DIR, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);
const alertTests = parse(readFileSync(join(PROM_DIR, 'alerts.test.yml'), 'utf8')) as { rule_files: string[]; tests: RuleTestCase[] };

describe('Prometheus configuration and alert rules (promtool)', () => {
  let promtool: string;
  beforeAll(() => {
    promtool = requireTool('promtool', INSTALL);
  });

  it('prometheus.yml is a valid configuration and its rule files load', () => {
    const result = run(promtool, ['check', 'config', 'prometheus.yml'], { cwd: PROM_DIR });
    expect({ status: result.status, output: result.output_ }).toMatchObject({ status: 0 });
    expect(result.output_).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('every alert rule passes its unit tests (promtool test rules alerts.test.yml)', () => {
    const result = run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: PROM_DIR });
    expect({ status: result.status, output: result.output_ }).toMatchObject({ status: 0 });
    expect(result.output_).toMatch(/SUCCESS/);
  });

  it('every alert has a unit test where it fires and one where it stays quiet', () => {
    expect(alertTests.rule_files).toEqual(['alerts.yml']);
    const cases = alertTests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const alerts = rules.filter((r) => r.alert).map((r) => r.alert as string);
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    const untested = alerts.filter((a) => !cases.some((c) => c.alertname === a && (c.exp_alerts?.length ?? 0) > 0));
    const neverQuiet = alerts.filter((a) => !cases.some((c) => c.alertname === a && (c.exp_alerts?.length ?? 0) === 0));
    expect({ untested, neverQuiet }).toEqual({ untested: [], neverQuiet: [] });
    const unknown = cases.map((c) => c.alertname).filter((a) => !alerts.includes(a));
    expect(unknown).toEqual([]);
  });

  it('covers the situations SREs asked for, each with a severity, summary and description', () => {
    const byName = new Map(rules.filter((r) => r.alert).map((r) => [r.alert as string, r]));
    for (const required of ['IngestHigh5xxRatio', 'IngestShedding503', 'ConsumerLagGrowing', 'ConsumerFreshnessHigh', 'DeadLettersWritten', 'ServiceDown', 'StatsLatencyP99High']) {
      expect(byName.has(required)).toBe(true);
    }
    for (const [name, rule] of byName) {
      expect({ name, severity: rule.labels?.severity }).toEqual({ name, severity: expect.stringMatching(/^(page|warning)$/) });
      expect({ name, summary: Boolean(rule.annotations?.summary), description: Boolean(rule.annotations?.description) }).toEqual({ name, summary: true, description: true });
    }
  });

  it('every Grafana panel query is valid PromQL', () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'infra', 'grafana', 'dashboards', 'sitestream.json'), 'utf8')) as {
      panels: Array<{ id: number; type: string; targets?: Array<{ refId: string; expr: string }> }>;
    };
    const recording = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ record: `dashboard:panel_${p.id}_${t.refId}`, expr: substituteGrafanaVariables(t.expr) })),
    );
    expect(recording.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), 'sitestream-dashboard-promql-'));
    try {
      writeFileSync(join(dir, 'dashboard-rules.yml'), stringify({ groups: [{ name: 'dashboard', rules: recording }] }));
      const result = run(promtool, ['check', 'rules', 'dashboard-rules.yml'], { cwd: dir });
      expect({ status: result.status, output: result.output_ }).toMatchObject({ status: 0 });
      expect(result.output_).toContain(`SUCCESS: ${recording.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
