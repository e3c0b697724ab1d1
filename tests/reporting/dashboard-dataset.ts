import { randomUUID } from 'node:crypto';
import { seededRandom } from './model';

/**
 * The dashboard test's visitors: a shop whose visits come from search, a newsletter, ads, a blog and direct
 * traffic on several devices and countries, spread over the last 34 days (the ranges the dashboard offers end
 * today), plus visits of the last hours and two visitors active right now. The shape is fixed by the seed; the
 * instants move with the clock, as the relative ranges do.
 */
export const DASH_SITE = 'dash-shop';
export const DASH_ZONE = 'Europe/Berlin';
export const OTHER_SITE = 'dash-other';

const AGENTS = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  chromeTablet: 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  samsung: 'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
};
/** How a visit arrives: its first event's context (later events of a visit send only the agent and address). */
const ARRIVALS: Record<string, string>[] = [
  { user_agent: AGENTS.chromeWindows, ip: '8.8.8.8', referrer: 'https://www.google.com/search?q=shoes' },
  { user_agent: AGENTS.chromeWindows, ip: '8.8.8.8', referrer: 'https://www.google.com/search?q=boots' },
  { user_agent: AGENTS.safariIphone, ip: '81.2.69.142', utm_source: 'Newsletter', utm_medium: 'email', utm_campaign: 'spring-sale' },
  { user_agent: AGENTS.firefoxLinux, ip: '5.9.0.1' },
  { user_agent: AGENTS.chromeTablet, ip: '200.160.2.3', utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'brand' },
  { user_agent: AGENTS.samsung, ip: '81.2.69.142', referrer: 'https://blog.example.org/post/1' },
  { user_agent: AGENTS.firefoxLinux, ip: '2001:4860:4860::8888', referrer: 'https://news.ycombinator.com/item?id=1' },
];
const PAGES = ['/', '/', '/pricing', '/shoes', '/shoes/red', '/shoes/blue', '/boots', '/boots/tall', '/blog', '/blog/care',
  '/blog/sizes', '/about', '/contact', '/cart', '/checkout'];

const MINUTE = 60_000;
const DAY = 86_400_000;

export function dashboardDataset(now = Date.now(), seed = 1515): Record<string, unknown>[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const bodies: Record<string, unknown>[] = [];
  const visit = (site: string, user: string, start: number) => {
    const arrival = pick(ARRIVALS);
    const n = 1 + Math.floor(rnd() * 5);
    let t = start;
    for (let i = 0; i < n; i++, t += (1 + Math.floor(rnd() * 4)) * MINUTE) {
      const type = i === 0 ? 'page_view' : pick(['page_view', 'page_view', 'page_view', 'click', 'signup']);
      const props = type === 'signup' ? { plan: pick(['pro', 'free', 'team']), seats: 1 + Math.floor(rnd() * 4) } : type === 'click' ? { button: pick(['cta', 'menu']) } : undefined;
      bodies.push({
        event_id: randomUUID(), site_id: site, event_type: type, path: pick(PAGES), user_id: user,
        timestamp: new Date(t).toISOString(),
        hostname: 'shop.example.com', ...(i === 0 ? arrival : { user_agent: arrival.user_agent, ip: arrival.ip }),
        ...(props ? { props } : {}),
      });
    }
  };
  for (let u = 0; u < 45; u++) {
    const visits = 1 + Math.floor(rnd() * 3);
    for (let v = 0; v < visits; v++) visit(DASH_SITE, `v${u}`, now - 2 * 3_600_000 - Math.floor(rnd() * 34 * DAY));
  }
  // Today's visits (the hourly chart), and two visitors of the last minutes (realtime).
  for (let u = 0; u < 8; u++) visit(DASH_SITE, `t${u}`, now - 30 * MINUTE - Math.floor(rnd() * 3 * 3_600_000));
  for (const u of ['now1', 'now2']) bodies.push({ event_id: randomUUID(), site_id: DASH_SITE, event_type: 'page_view', path: '/', user_id: u, timestamp: new Date(now - MINUTE).toISOString() });
  for (let u = 0; u < 3; u++) visit(OTHER_SITE, `o${u}`, now - Math.floor(rnd() * 5 * DAY) - 3_600_000);
  return bodies;
}
