import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/*
 * Driving the dashboard in Debian's Chromium, and how its numbers must read: the expected texts are written here
 * from the API's values (en-US, as the browser context is set), independently of the dashboard's own code.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
  '--disable-quic', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export const DESKTOP = { width: 1280, height: 1000 };
export const PHONE = { width: 390, height: 844 };

export function newContext(browser: Browser, viewport = DESKTOP): Promise<BrowserContext> {
  return browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC', ...(viewport === PHONE ? { isMobile: true, hasTouch: true } : {}) });
}

/** What a page did: every request's URL, console errors and uncaught exceptions. */
export interface Watched {
  page: Page;
  requests: string[];
  errors: string[];
}
export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const w: Watched = { page, requests: [], errors: [] };
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && w.errors.push(m.text()));
  page.on('pageerror', (e) => w.errors.push(`uncaught: ${e.message}`));
  return w;
}

export async function signIn(page: Page, url: string, key: string, search = ''): Promise<void> {
  await page.goto(`${url}/${search}`);
  await page.fill('#api-key', key);
  await page.click('form.sign-in button[type=submit]');
}

/**
 * Every widget has answered (nothing is aria-busy) and the KPIs are on the page. Locators, not waitForFunction:
 * that evaluates its predicate with eval, which the page's CSP rightly refuses.
 */
export async function settled(page: Page): Promise<void> {
  await page.locator('.kpi').first().waitFor();
  await page.locator('[aria-busy="true"]').first().waitFor({ state: 'detached' });
}

const num = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
export const fmt = (v: number | null) => (v === null ? '—' : num.format(v));
export function fmtDuration(v: number | null): string {
  if (v === null) return '—';
  const s = Math.round(v);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
export function fmtChange(v: number | null): string {
  if (v === null) return 'no earlier data';
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${num.format(Math.abs(v))}%`;
}
export const KPI_METRICS = ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration', 'views_per_visit'];
export function kpiText(metric: string, v: number | null): string {
  return metric === 'bounce_rate' ? (v === null ? '—' : `${fmt(v)}%`) : metric === 'visit_duration' ? fmtDuration(v) : fmt(v);
}

export interface KpiCard { metric: string; value: string; change: string | null }
export function readKpis(page: Page): Promise<KpiCard[]> {
  return page.$$eval('.kpi', (els) => els.map((e) => ({
    metric: e.getAttribute('data-metric') ?? '',
    value: e.querySelector('.value')?.textContent ?? '',
    change: e.querySelector('.change')?.textContent ?? null,
  })));
}

/** A panel's rows as shown: the label, then each metric's text. */
export function readRows(page: Page, panel: string): Promise<string[][]> {
  return page.$$eval(`[data-panel="${panel}"] ol.rows > li > a`, (links) =>
    links.map((a) => [...a.querySelectorAll('.label, .num')].map((s) => s.textContent ?? '')));
}

/** The chart's table: bucket, value, previous period's value when compared. */
export function readChartTable(page: Page): Promise<string[][]> {
  return page.$$eval('#chart-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
}

const DAY_MS = 86_400_000;
/** Every day (or every hour of the one day) of a resolved range. */
export function bucketsOf(range: [string, string], hourly: boolean): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${range[0]}T00:00:00Z`); t <= Date.parse(`${range[1]}T00:00:00Z`); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return hourly ? days.flatMap((d) => Array.from({ length: 24 }, (_, i) => `${d} ${String(i).padStart(2, '0')}:00:00`)) : days;
}
