import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createTestKey, getJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-quic',
  '--disable-component-update',
  '--disable-sync',
  // A second host name for the same loopback server: the page a visitor arrives from.
  '--host-resolver-rules=MAP referrer.test 127.0.0.1',
];
// A desktop Chrome's agent, as a visitor's browser sends it: headless Chromium's own (HeadlessChrome/…) is a
// bot's, and ingest would rightly ignore its events.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const TRACKER_LOADED = "'sitestream' in window";

interface StoredEvent {
  event_type: string;
  path: string;
  user_id: string;
  timestamp: Date;
  hostname: string | null;
  referrer: string | null;
  source: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  country: string | null;
  props: Record<string, unknown> | null;
}

/**
 * The tracker in a real browser (Debian's chromium through playwright-core): a shop page served from another
 * origin embeds /tracker.js, navigates like a single-page app and fires a custom event; the events must then be
 * rows in PostgreSQL and numbers in /stats.
 */
describe('the tracker in a real browser', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  let site: Server;
  let siteUrl: string;
  let profile: string;
  let browser: BrowserContext;
  const pageErrors: string[] = [];
  /** How each page's requests to /event went out: 'ping' is sendBeacon, 'fetch' the fallback. */
  const sentAs = new Map<Page, string[]>();
  const watch = (page: Page) => {
    page.on('pageerror', (err) => pageErrors.push(err.message));
    sentAs.set(page, []);
    page.on('request', (r) => r.url().endsWith('/event') && sentAs.get(page)!.push(r.resourceType()));
  };

  beforeAll(async () => {
    pipeline = await startPipeline();
    auth = (await createTestKey(pipeline.db)).headers;
    site = await serveShop(pipeline.ingestUrl);
    const address = site.address();
    siteUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    profile = mkdtempSync(join(tmpdir(), 'sitestream-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, userAgent: USER_AGENT });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await new Promise((r) => site?.close(r));
    await pipeline?.stop();
  });

  async function open(siteId: string, path = '/'): Promise<Page> {
    const page = await browser.newPage();
    watch(page);
    await page.goto(`${siteUrl}${path}?site=${siteId}`);
    await page.waitForFunction(TRACKER_LOADED);
    return page;
  }

  const rowsOf = (siteId: string) =>
    pipeline.db<StoredEvent>('analytics.website_events').where('site_id', siteId).select('*').orderBy('timestamp');

  it('sends page views on load and on SPA navigation, and custom events, all kept in PostgreSQL and /stats', async () => {
    // The visitor arrives from another host, on a campaign link whose query also holds a click id.
    const page = await browser.newPage();
    watch(page);
    const bodies: string[] = [];
    page.on('request', (r) => r.url().endsWith('/event') && bodies.push(r.postData() ?? ''));
    const port = new URL(siteUrl).port;
    await page.goto(`http://referrer.test:${port}/from?site=browser-shop&secret=from-query`);
    await page.click('#go');
    await page.waitForFunction(TRACKER_LOADED);
    await page.click('#pricing'); // pushState
    await page.evaluate("window.sitestream.track('signup', { plan: 'pro', seats: 2, bad: null, nested: { a: 1 }, constructor: 'x', [''.padEnd(301, 'k')]: 1 })");
    await page.goBack(); // popstate back to /
    await page.evaluate("history.replaceState({}, '', '/')"); // same path: not a new page view
    const userId = await page.evaluate("localStorage.getItem('sitestream_uid')");
    expect(userId).toMatch(/^[0-9a-f]{32}$/);

    const rows = await waitFor(async () => {
      const r = await rowsOf('browser-shop');
      return r.length >= 4 ? r : undefined;
    }, { what: 'four events from the browser in PostgreSQL' });
    expect(rows.map((r) => `${r.event_type} ${r.path}`).sort()).toEqual(['page_view /', 'page_view /', 'page_view /pricing', 'signup /pricing']);
    expect(new Set(rows.map((r) => r.user_id))).toEqual(new Set([userId]));
    // Context: the referrer (its origin: Chromium's default referrer policy trims cross-origin referrers) only on
    // the first page view; utm_* whenever the URL has them; props on the custom event, the unsendable ones dropped.
    const device = { hostname: '127.0.0.1', browser: 'Chrome', os: 'Linux', device: 'Desktop', country: null };
    const none = { referrer: null, source: null, utm_source: null, utm_medium: null, utm_campaign: null, props: null };
    const campaign = { utm_medium: 'email', utm_campaign: 'launch' };
    const contextOf = (r: StoredEvent): { event: string; referrer?: unknown } => ({
      event: `${r.event_type} ${r.path}`,
      ...Object.fromEntries(['hostname', 'referrer', 'source', 'utm_source', 'utm_medium', 'utm_campaign', 'browser', 'os', 'device', 'country', 'props'].map((k) => [k, r[k as keyof StoredEvent]])),
    });
    const byEvent = (a: { event: string; referrer?: unknown }, b: { event: string; referrer?: unknown }) =>
      `${a.event} ${String(a.referrer)}`.localeCompare(`${b.event} ${String(b.referrer)}`);
    expect(rows.map(contextOf).sort(byEvent)).toEqual(
      [
        { event: 'page_view /', ...device, ...none, ...campaign, referrer: `http://referrer.test:${port}/`, source: 'referrer.test' },
        { event: 'page_view /', ...device, ...none, ...campaign },
        { event: 'page_view /pricing', ...device, ...none },
        { event: 'signup /pricing', ...device, ...none, props: { plan: 'pro', seats: 2 } },
      ].sort(byEvent),
    );
    // Nothing else of either query string left the page.
    expect(bodies.filter((b) => /gclid|secret|from-query/.test(b))).toEqual([]);
    expect(sentAs.get(page)).toEqual(['ping', 'ping', 'ping', 'ping']);

    const date = rows[0]!.timestamp.toISOString().slice(0, 10);
    const stats = await waitFor(async () => {
      const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=browser-shop&date=${date}`, auth);
      return r.body.total_views === 3 ? r.body : undefined;
    }, { what: 'the browser events in /stats' });
    expect(stats).toMatchObject({
      total_views: 3,
      unique_users: 1,
      top_paths: [
        { path: '/', views: 2 },
        { path: '/pricing', views: 1 },
      ],
    });
    await page.close();
  });

  it('falls back to fetch(keepalive) without sendBeacon and works with storage blocked, never throwing into the page', async () => {
    const page = await browser.newPage();
    watch(page);
    await page.addInitScript(`
      Object.defineProperty(Navigator.prototype, 'sendBeacon', { value: undefined, configurable: true });
      Storage.prototype.getItem = Storage.prototype.setItem = function () {
        throw new DOMException('blocked', 'SecurityError');
      };`);
    await page.goto(`${siteUrl}/docs?site=browser-fallback`);
    await page.waitForFunction(TRACKER_LOADED);
    // Bad calls from the host page are ignored, not thrown back.
    const threw = await page.evaluate(`(() => {
      try {
        window.sitestream.track(undefined);
        window.sitestream.track(42);
        window.sitestream.track('');
        return false;
      } catch (e) {
        return true;
      }
    })()`);
    expect(threw).toBe(false);
    const rows = await waitFor(async () => {
      const r = await rowsOf('browser-fallback');
      return r.length >= 1 ? r : undefined;
    }, { what: 'the fallback page view in PostgreSQL' });
    expect(rows.map((r) => `${r.event_type} ${r.path}`)).toEqual(['page_view /docs']);
    expect(sentAs.get(page)).toEqual(['fetch']);
    await page.close();
  });

  it('lets a page POST application/json across origins (CORS preflight answered)', async () => {
    const page = await open('browser-cors');
    // Page code is passed as text: these tests compile without the DOM's types.
    const status = await page.evaluate(`fetch(${JSON.stringify(`${pipeline.ingestUrl}/event`)}, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ site_id: 'browser-cors', event_type: 'click', path: '/', user_id: 'u', timestamp: new Date().toISOString() }),
    }).then((res) => res.status)`);
    expect(status).toBe(202);
    await page.close();
  });

  it('serves /tracker.js gzipped, cacheable, loadable from any origin, and 304 when unchanged', async () => {
    const res = await fetch(`${pipeline.ingestUrl}/tracker.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
    expect((await res.text()).length).toBeLessThan(4096);
    const again = await fetch(`${pipeline.ingestUrl}/tracker.js`, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('answers a CORS preflight for /event and /events with a cached, credential-free allowance', async () => {
    for (const path of ['/event', '/events']) {
      const res = await fetch(`${pipeline.ingestUrl}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
      expect(res.headers.get('access-control-max-age')).toBe('86400');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('raised no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});

/** A tiny "shop" on its own origin: every path serves the same SPA shell that embeds the tracker. */
function serveShop(ingestUrl: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const siteId = url.searchParams.get('site') ?? 'none';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    if (url.pathname === '/from') {
      // The page a visitor comes from (served as referrer.test): a campaign link into the shop on 127.0.0.1.
      const shop = `http://127.0.0.1:${req.socket.localPort}/?site=${siteId}&utm_medium=email&utm_campaign=launch&gclid=secret-click-id`;
      res.end(`<!doctype html><html><body><a id="go" href="${shop.replace(/&/g, '&amp;')}">shop</a></body></html>`);
      return;
    }
    res.end(`<!doctype html>
<html><head><title>shop</title>
<script defer src="${ingestUrl}/tracker.js" data-site-id="${siteId}"></script>
</head><body>
<a id="pricing" href="/pricing">Pricing</a>
<script>
document.getElementById('pricing').addEventListener('click', function (e) {
  e.preventDefault();
  history.pushState({}, '', '/pricing');
});
</script>
</body></html>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
