import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { revokeApiKey, setSiteTimeZone } from '@sitestream/db';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';
import { dashboardDataset, DASH_SITE, DASH_ZONE, OTHER_SITE } from './dashboard-dataset';
import {
  bucketsOf, fmt, fmtChange, KPI_METRICS, kpiText, launchChromium, newContext, PHONE, readChartTable, readKpis, readRows, settled, signIn, watchedPage, type Watched,
} from './dashboard-page';

type Filter = [string, string, string[]];
const SCREENSHOTS = resolve(__dirname, '..', '.screenshots');

/** Every panel tab and the query behind it, as the issue lists them: top 10 by visitors. */
const TABS: { panel: string; tab: string; dimension: string; metrics: string[]; filters?: Filter[] }[] = [
  { panel: 'pages', tab: 'pages', dimension: 'event:page', metrics: ['visitors', 'pageviews'] },
  { panel: 'pages', tab: 'entry', dimension: 'visit:entry_page', metrics: ['visitors', 'visits'] },
  { panel: 'pages', tab: 'exit', dimension: 'visit:exit_page', metrics: ['visitors', 'visits'] },
  { panel: 'sources', tab: 'sources', dimension: 'visit:source', metrics: ['visitors', 'visits'] },
  { panel: 'sources', tab: 'referrers', dimension: 'visit:referrer', metrics: ['visitors', 'visits'] },
  { panel: 'sources', tab: 'utm_source', dimension: 'visit:utm_source', metrics: ['visitors', 'visits'] },
  { panel: 'sources', tab: 'utm_medium', dimension: 'visit:utm_medium', metrics: ['visitors', 'visits'] },
  { panel: 'sources', tab: 'utm_campaign', dimension: 'visit:utm_campaign', metrics: ['visitors', 'visits'] },
  { panel: 'countries', tab: 'countries', dimension: 'visit:country', metrics: ['visitors', 'visits'] },
  { panel: 'devices', tab: 'devices', dimension: 'visit:device', metrics: ['visitors', 'visits'] },
  { panel: 'devices', tab: 'browsers', dimension: 'visit:browser', metrics: ['visitors', 'visits'] },
  { panel: 'devices', tab: 'os', dimension: 'visit:os', metrics: ['visitors', 'visits'] },
  { panel: 'events', tab: 'events', dimension: 'event:name', metrics: ['visitors', 'events'], filters: [['is_not', 'event:name', ['page_view']]] },
];

/**
 * The analysts' dashboard in Debian's Chromium against the real services, over a fixed dataset sent through
 * ingest. Every number on the page is checked against what POST /api/v2/query answers for the same question.
 */
describe('the dashboard in a real browser', () => {
  let pipeline: Pipeline;
  let key: string;
  let browser: Browser;
  let w: Watched;
  let origin: string;

  const ask = async (body: Record<string, unknown>) => {
    const r = await postJson(`${pipeline.reportingUrl}/api/v2/query`, { site_id: DASH_SITE, ...body }, { authorization: `Bearer ${key}` });
    expect(r.status).toBe(200);
    return r.body as { results: { dimensions: string[]; metrics: (number | null)[]; comparison?: { change: (number | null)[] } }[]; meta: any; query: any };
  };
  const expectedKpis = async (range: unknown, filters: Filter[] = []) => {
    const a = await ask({ metrics: KPI_METRICS, date_range: range, filters, include: { comparison: 'previous_period' } });
    const row = a.results[0]!;
    return KPI_METRICS.map((metric, i) => ({ metric, value: kpiText(metric, row.metrics[i]!), change: fmtChange(row.comparison!.change[i]!) }));
  };
  const expectedRows = async (t: (typeof TABS)[number], range: unknown, filters: Filter[] = [], limit = 10) => {
    const a = await ask({ metrics: t.metrics, date_range: range, dimensions: [t.dimension], filters: [...filters, ...(t.filters ?? [])], pagination: { limit, offset: 0 } });
    return a.results.map((r) => [r.dimensions[0]!, ...r.metrics.map(fmt)]);
  };
  async function showTab(page: Page, panel: string, tab: string): Promise<void> {
    const button = page.locator(`[data-panel="${panel}"] [data-tab="${tab}"]`);
    if ((await button.count()) > 0 && (await button.getAttribute('aria-selected')) !== 'true') await button.click();
    await settled(page);
  }
  async function expectPanels(page: Page, range: unknown, filters: Filter[] = []): Promise<Record<string, string[][]>> {
    const seen: Record<string, string[][]> = {};
    for (const t of TABS) {
      await showTab(page, t.panel, t.tab);
      const rows = await readRows(page, t.panel);
      expect({ tab: t.tab, rows }).toStrictEqual({ tab: t.tab, rows: await expectedRows(t, range, filters) });
      seen[t.tab] = rows;
    }
    return seen;
  }

  beforeAll(async () => {
    pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 1_000_000 });
    origin = new URL(pipeline.reportingUrl).origin;
    key = (await createTestKey(pipeline.db)).key;
    await setSiteTimeZone(pipeline.db, DASH_SITE, DASH_ZONE);
    const bodies = dashboardDataset();
    for (let i = 0; i < bodies.length; i += 50) expect((await postJson(`${pipeline.ingestUrl}/events`, { events: bodies.slice(i, i + 50) })).status).toBe(202);
    await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === bodies.length || undefined, { what: 'every event stored', timeoutMs: 90_000 });
    browser = await launchChromium();
    w = await watchedPage(await newContext(browser));
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 150_000);
  afterAll(async () => {
    await browser?.close();
    await pipeline?.stop();
  });

  it('is served with a strict CSP, no inline code, and weighs at most 150 KB gzipped', async () => {
    const res = await fetch(`${pipeline.reportingUrl}/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const html = await res.text();
    expect(html.match(/<script\b[^>]*>/g)?.every((tag) => / src="\/assets\/[0-9a-f]{12}\//.test(tag))).toBe(true);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBe(3);
    let gzipped = Number(res.headers.get('content-length'));
    for (const path of assets) {
      const a = await fetch(`${pipeline.reportingUrl}${path}`, { headers: { 'accept-encoding': 'gzip' } });
      expect({ path, status: a.status, encoding: a.headers.get('content-encoding') }).toEqual({ path, status: 200, encoding: 'gzip' });
      expect(a.headers.get('cache-control')).toContain('immutable');
      gzipped += Number(a.headers.get('content-length'));
    }
    expect(gzipped).toBeGreaterThan(10_000);
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
  });

  it('signs in, and the KPIs and the first rows of every panel equal the query API', async () => {
    await signIn(w.page, pipeline.reportingUrl, key);
    await settled(w.page);
    expect(await w.page.evaluate("sessionStorage.getItem('sitestream.api_key')")).toBe(key);
    expect(w.page.url()).not.toContain(key);
    // The picker lists what GET /api/v2/sites lists, and opens on the first.
    const sites = await getJson(`${pipeline.reportingUrl}/api/v2/sites`, { authorization: `Bearer ${key}` });
    expect(await w.page.$$eval('#site option', (os) => os.map((o) => o.textContent))).toEqual(sites.body.sites.map((s: { site_id: string }) => s.site_id));
    expect(sites.body.sites.map((s: { site_id: string }) => s.site_id)).toEqual([OTHER_SITE, DASH_SITE]);
    expect(new URL(w.page.url()).searchParams.get('site')).toBe(OTHER_SITE);
    await w.page.selectOption('#site', DASH_SITE);
    await settled(w.page);
    expect(new URL(w.page.url()).searchParams.get('site')).toBe(DASH_SITE);
    expect(await readKpis(w.page)).toStrictEqual(await expectedKpis('30d'));
    const panels = await expectPanels(w.page, '30d');
    expect(Object.values(panels).every((rows) => rows.length > 0)).toBe(true);
    // The dataset has more than 10 pages: "More" lists the rest, still as the API orders them.
    await showTab(w.page, 'pages', 'pages');
    await w.page.click('[data-panel="pages"] button.more');
    await settled(w.page);
    const all = await readRows(w.page, 'pages');
    expect(all.length).toBeGreaterThan(10);
    expect(all).toStrictEqual(await expectedRows(TABS[0]!, '30d', [], 100));
    // Realtime and freshness, from the same API.
    await waitFor(async () => {
      const rt = await getJson(`${pipeline.reportingUrl}/api/v2/realtime?site_id=${DASH_SITE}`, { authorization: `Bearer ${key}` });
      return (await w.page.textContent('#realtime')) === `${rt.body.visitors} visitors in the last 5 minutes` || undefined;
    }, { what: 'realtime visitors as the API counts them' });
    expect(await w.page.textContent('#data-as-of')).toMatch(/^data up to .+ \(Europe\/Berlin\)$/);
    for (const [panel, tab] of [['sources', 'sources'], ['devices', 'devices']]) await showTab(w.page, panel!, tab!);
    await w.page.screenshot({ path: join(SCREENSHOTS, 'dashboard-desktop.png'), fullPage: true });
  }, 120_000);

  it('shows the chosen event property broken down, with the keys the API lists', async () => {
    await showTab(w.page, 'events', 'props');
    const range = (await ask({ metrics: ['visitors'], date_range: '30d' })).query.date_range as [string, string];
    const { body } = await getJson(`${pipeline.reportingUrl}/api/v2/props?site_id=${DASH_SITE}&from=${range[0]}&to=${range[1]}`, { authorization: `Bearer ${key}` });
    expect(body.keys).toEqual(['button', 'plan', 'seats']);
    expect(await w.page.$$eval('[data-panel="events"] select option', (os) => os.map((o) => o.textContent))).toEqual(body.keys);
    await w.page.selectOption('[data-panel="events"] select', 'plan');
    await settled(w.page);
    const t = { panel: 'events', tab: 'props', dimension: 'event:props:plan', metrics: ['visitors', 'events'] };
    expect(await readRows(w.page, 'events')).toStrictEqual(await expectedRows(t, '30d'));
  });

  it('clicking a source filters every panel and the KPIs; the chip removes the filter', async () => {
    await showTab(w.page, 'sources', 'sources');
    const before = { kpis: await readKpis(w.page), pages: await readRows(w.page, 'pages') };
    await w.page.click('[data-panel="sources"] a.row:has(.label:text-is("google.com"))');
    await settled(w.page);
    const filters: Filter[] = [['is', 'visit:source', ['google.com']]];
    expect(await w.page.textContent('.chips')).toContain('Source is google.com');
    expect(new URL(w.page.url()).searchParams.getAll('f')).toEqual([JSON.stringify(filters[0])]);
    const kpis = await readKpis(w.page);
    expect(kpis).toStrictEqual(await expectedKpis('30d', filters));
    expect(kpis).not.toStrictEqual(before.kpis);
    const panels = await expectPanels(w.page, '30d', filters);
    expect(panels.sources).toEqual([['google.com', ...panels.sources![0]!.slice(1)]]);
    expect(panels.pages).not.toStrictEqual(before.pages);
    await w.page.click('.chips button[aria-label^="Remove filter"]');
    await settled(w.page);
    expect(await readKpis(w.page)).toStrictEqual(before.kpis);
    expect(new URL(w.page.url()).searchParams.getAll('f')).toEqual([]);
  }, 120_000);

  it('changing the range changes the chart points: 30 days, 7 days, today by the hour, with the previous period', async () => {
    const chart = async (range: string) => {
      const hourly = range === 'day';
      const dims = [hourly ? 'time:hour' : 'time:day'];
      const cur = await ask({ metrics: ['visitors'], date_range: range, dimensions: dims, pagination: { limit: 10_000, offset: 0 } });
      const kpi = await ask({ metrics: ['visitors'], date_range: range, include: { comparison: 'previous_period' } });
      const prevRange = kpi.meta.comparison_date_range as [string, string];
      const prev = await ask({ metrics: ['visitors'], date_range: prevRange, dimensions: dims, pagination: { limit: 10_000, offset: 0 } });
      const at = (a: typeof cur) => new Map(a.results.map((r) => [r.dimensions[0], r.metrics[0]]));
      const [c, p] = [at(cur), at(prev)];
      const prevBuckets = bucketsOf(prevRange, hourly);
      return bucketsOf(cur.query.date_range, hourly).map((b, i) => [hourly ? b.slice(0, 16) : b, fmt(c.get(b) ?? 0), fmt(p.get(prevBuckets[i]!) ?? 0)]);
    };
    const thirty = await readChartTable(w.page);
    expect(thirty).toHaveLength(30);
    expect(thirty).toStrictEqual(await chart('30d'));
    for (const [label, range, points] of [['Last 7 days', '7d', 7], ['Today', 'day', 24]] as const) {
      await w.page.click(`.ranges button:text-is("${label}")`);
      await settled(w.page);
      expect(new URL(w.page.url()).searchParams.get('range')).toBe(range);
      const table = await readChartTable(w.page);
      expect(table).toHaveLength(points);
      expect(table).toStrictEqual(await chart(range));
      expect(await readKpis(w.page)).toStrictEqual(await expectedKpis(range));
    }
    await w.page.goBack();
    await settled(w.page);
    expect(await readChartTable(w.page)).toHaveLength(7);
  }, 120_000);

  it('works from the keyboard: Tab reaches a row, Enter filters by it', async () => {
    await w.page.click('.ranges button:text-is("Last 30 days")');
    await settled(w.page);
    let focused = '';
    for (let i = 0; i < 80 && focused !== 'A'; i++) {
      await w.page.keyboard.press('Tab');
      focused = await w.page.evaluate<string>("document.activeElement?.classList.contains('row') ? 'A' : ''");
    }
    expect(focused).toBe('A');
    const label = await w.page.evaluate<string>("document.activeElement.querySelector('.label').textContent");
    await w.page.keyboard.press('Enter');
    await settled(w.page);
    expect(await w.page.textContent('.chips')).toContain(`is ${label}`);
  }, 60_000);

  it('fits a phone screen', async () => {
    const phone = await watchedPage(await newContext(browser, PHONE));
    await signIn(phone.page, pipeline.reportingUrl, key, `?site=${DASH_SITE}`);
    await settled(phone.page);
    // The phone's own width, not innerWidth: a mobile browser widens its layout viewport to content that overflows.
    expect(await phone.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await phone.page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png'), fullPage: true });
    expect(phone.errors).toEqual([]);
  });

  it('a wrong key shows the sign-in error; a key revoked meanwhile leads back to sign-in', async () => {
    const other = await watchedPage(await newContext(browser));
    await signIn(other.page, pipeline.reportingUrl, `${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`);
    await other.page.locator('#sign-in-error:not(:empty)').waitFor();
    expect(await other.page.textContent('#sign-in-error')).toBe('This key was not accepted: it is unknown, revoked or expired.');
    expect(await other.page.evaluate('sessionStorage.length')).toBe(0);

    const second = (await createTestKey(pipeline.db)).key;
    await signIn(other.page, pipeline.reportingUrl, second);
    await settled(other.page);
    await revokeApiKey(pipeline.db, second);
    await other.page.click('.ranges button:text-is("Last 7 days")');
    await other.page.waitForSelector('#api-key');
    expect(await other.page.textContent('#sign-in-error')).toContain('no longer accepts this key');
    expect(await other.page.evaluate('sessionStorage.length')).toBe(0);
    // The browser logs each refused request itself; nothing else may reach the console.
    expect(other.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    expect(other.errors.length).toBeGreaterThan(0);
  });

  it('requested nothing from another origin and logged no console error', () => {
    expect(w.requests.length).toBeGreaterThan(20);
    expect(w.requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
    expect(w.errors).toEqual([]);
  });
});
