import { parseArgs } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { createApiKey, revokeApiKey } from '@sitestream/db';
import { createDb } from '@sitestream/db';
import { benchDatabaseUrl, silentLogger } from '../reporting/lib/bench-db';
import { loadLine, machineLine, median, ms, quantile } from '../reporting/lib/measure';
import { freePort, startService, waitReady } from '../reporting/lib/processes';

const log = (line: string) => process.stdout.write(`${line}\n`);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-quic', '--disable-component-update', '--disable-sync'];

// What the page reports (read with string expressions: this file is compiled without the DOM's types).
const MEASURE = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const isApi = (r) => new URL(r.name).pathname.startsWith('/api/');
  return {
    kpiMs: window.__kpi, allMs: window.__all, requests: res.length + 1,
    staticBytes: nav.encodedBodySize + res.filter((r) => !isApi(r)).reduce((s, r) => s + r.encodedBodySize, 0),
    apiBytes: res.filter(isApi).reduce((s, r) => s + r.encodedBodySize, 0),
  };
})()`;

// Installed before the page's own scripts (through CDP, so the page's CSP does not apply to it): the key the
// dashboard reads at start, and the instants at which the KPI numbers and then every widget were on screen.
const PROBE = (key: string) => `
  sessionStorage.setItem('sitestream.api_key', ${JSON.stringify(key)});
  new MutationObserver((_, obs) => {
    if (!window.__kpi && document.querySelector('.kpi .value')) window.__kpi = performance.now();
    if (window.__kpi && !window.__all && document.querySelector('.panel ol.rows, .panel .empty') && !document.querySelector('[aria-busy="true"]')) {
      window.__all = performance.now();
      obs.disconnect();
      document.documentElement.setAttribute('data-bench-done', '');
    }
  }).observe(document, { childList: true, subtree: true, attributes: true });`;

interface Load { kpiMs: number; allMs: number; staticBytes: number; apiBytes: number; requests: number }

/**
 * `npm run bench:dashboard`: the dashboard in Chromium against reporting on a bench database (by default the
 * 10M-event `bench:reporting` one): time from navigation to the KPI numbers on screen ("first paint of numbers")
 * and to every widget loaded, for the big site's 30 days, each load in a fresh browser context (nothing cached);
 * and the bytes the page loaded (gzipped as sent). Beside it, the KPI query alone through HTTP.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    database: { type: 'string', default: 'sitestream_bench_reporting_10m' },
    site: { type: 'string', default: 'big-site' },
    runs: { type: 'string', default: '3' },
  } });
  log(`machine: ${machineLine()}`);
  log(`start: ${loadLine()}`);
  // Read as it is, never migrated from here: the dataset may carry another branch's migrations.
  if (!/^sitestream_bench_[a-z0-9_]+$/.test(values.database)) throw new Error('bench databases are named sitestream_bench_*');
  const url = benchDatabaseUrl(values.database);
  const db = createDb({ DATABASE_URL: url, DB_POOL_MAX: 2, DB_STATEMENT_TIMEOUT_MS: 0 }, silentLogger, 'sitestream-bench');
  const facts = (await db.raw<{ rows: { first: string | null; events: string }[] }>(
    `SELECT to_char(min(day), 'YYYY-MM-DD') AS first, (SELECT count(*) FROM analytics.website_events WHERE site_id = ?) AS events FROM analytics.visits WHERE site_id = ?`,
    [values.site, values.site])).rows[0]!;
  if (!facts.first) throw new Error(`${values.database} has no visits of ${values.site}: run npm run bench:reporting first`);
  // The dataset's own 30 days (its history lies in the past, so "Last 30 days" would be empty).
  const to = new Date(Date.parse(facts.first) + 29 * 86_400_000).toISOString().slice(0, 10);
  log(`dataset: ${values.database}, site ${values.site}: ${Number(facts.events).toLocaleString('en-US')} events; range ${facts.first} – ${to}`);
  const { key } = await createApiKey(db, { name: 'bench-dashboard' });
  const port = await freePort();
  const reporting = startService('reporting', { DATABASE_URL: url, HOST: '127.0.0.1', REPORTING_PORT: String(port), REPORTING_RATE_LIMIT_PER_MINUTE: String(1e9) });
  const base = `http://127.0.0.1:${port}`;
  let browser: Browser | undefined;
  try {
    await waitReady(base);
    const kpiBody = { site_id: values.site, metrics: ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration', 'views_per_visit'], date_range: [facts.first, to], include: { comparison: 'previous_period' } };
    const apiMs: number[] = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const t = performance.now();
      const r = await fetch(`${base}/api/v2/query`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(kpiBody) });
      if (r.status !== 200) throw new Error(`KPI query answered ${r.status}: ${await r.text()}`);
      await r.text();
      apiMs.push(performance.now() - t);
    }
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    const loads: Load[] = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'en-US' });
      await context.addInitScript(PROBE(key));
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      // Which call failed, and how (the console names neither).
      page.on('response', (r) => { if (r.status() >= 400) void r.text().then((t) => errors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname} ${r.request().postData() ?? ''} → ${t.slice(0, 200)}`)).catch(() => undefined); });
      await page.goto(`${base}/?site=${encodeURIComponent(values.site)}&range=custom&from=${facts.first}&to=${to}`);
      await page.locator('html[data-bench-done]').waitFor({ state: 'attached', timeout: 120_000 });
      const m = await page.evaluate<Load>(MEASURE);
      const shown = await page.$$eval('.kpi .value', (els) => els.map((e) => e.textContent).join(' | '));
      // An error the page shows has text (the custom-range error span is always there, empty until needed).
      const shownErrors = await page.$$eval('.error', (els) => els.map((e) => (e.textContent ?? '').trim()).filter((t) => t !== ''));
      if (errors.length > 0 || shownErrors.length > 0) throw new Error(`load ${i + 1} showed errors: ${[...errors, ...shownErrors].join('; ')}`);
      log(`load ${i + 1}: numbers at ${ms(m.kpiMs)} ms, everything at ${ms(m.allMs)} ms, ${m.requests} requests (KPIs: ${shown})`);
      loads.push(m);
      await context.close();
    }
    const q = (xs: number[]) => `${ms(median(xs))} / ${ms(quantile(xs, 1))} ms`;
    log('\n| what | median / max |');
    log('|---|---|');
    log(`| KPI query alone (POST /api/v2/query, 6 metrics + comparison, 30 days), ${apiMs.length} runs | ${q(apiMs)} |`);
    log(`| first paint of numbers (navigation → KPI values on screen, cold context), ${loads.length} loads | ${q(loads.map((l) => l.kpiMs))} |`);
    log(`| every widget loaded (KPIs, chart + previous period, 5 panels) | ${q(loads.map((l) => l.allMs))} |`);
    log(`| page weight: static (HTML + JS + CSS + icon, gzipped as sent) | ${loads[0]!.staticBytes} B |`);
    log(`| API answers of one load (JSON, uncompressed) | ${loads[0]!.apiBytes} B in ${loads[0]!.requests - 4} requests |`);
  } finally {
    await browser?.close();
    await reporting.stop();
    await revokeApiKey(db, key);
    await db.destroy();
  }
  log(`end: ${loadLine()}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
