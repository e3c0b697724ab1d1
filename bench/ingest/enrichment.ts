import { CountryLookup, defaultCountryDatabase, Enricher } from '@sitestream/ingest';
import { createLogger, validateEventInput, type EventInput } from '@sitestream/shared';

/**
 * CPU per event of the enrichment step alone, in this process: validation of the seed's body (the path before
 * issue 12) against validation of an event with context + enrichment, over a realistic agent mix. The mix is
 * ~1,000 distinct agents (real browser families × versions, a few bots) drawn Zipf-like, as a site's traffic
 * concentrates on the current versions of a few browsers; the parse cache starts empty, so misses count too.
 */
const FAMILIES = [
  (v: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`,
  (v: number) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36`,
  (v: number) => `Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Mobile Safari/537.36`,
  (v: number) => `Mozilla/5.0 (iPhone; CPU iPhone OS 17_${v % 8} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${v % 8} Mobile/15E148 Safari/604.1`,
  (v: number) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${v % 8} Safari/605.1.15`,
  (v: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`,
  (v: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.0.0 Safari/537.36 Edg/${v}.0.2903.70`,
  (v: number) => `Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/${v % 30}.0 Chrome/${v}.0.0.0 Mobile Safari/537.36`,
  (v: number) => `Mozilla/5.0 (iPad; CPU OS 17_${v % 8} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${v % 8} Mobile/15E148 Safari/604.1`,
  (v: number) => `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.${v * 7}.0 Safari/537.36`,
];
const BOTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
];
const IPS = ['8.8.8.8', '81.2.69.142', '5.9.0.1', '133.11.0.1', '200.160.2.3', '2001:4860:4860::8888', '2a01:4f8::1', '1.1.1.1'];
const REFERRERS = ['https://www.google.com/search?q=x', 'https://news.ycombinator.com/item?id=1', '', 'https://shop.example.com/cart', 'https://t.co/abc'];

export interface EnrichmentCost {
  events: number;
  distinctAgents: number;
  baselineUs: number;
  withContextUs: number;
  addedUs: number;
  cacheMissUs: number;
}

export function measureEnrichment(events = 200_000): EnrichmentCost {
  const agents: string[] = [];
  for (let v = 100; v < 200; v++) for (const f of FAMILIES) agents.push(f(v));
  agents.push(...BOTS);
  // Zipf-like: the agent of rank r is drawn with weight 1/r (deterministic, no RNG needed for a stable mix).
  const weights = agents.map((_, r) => 1 / (r + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  weights.reduce((acc, w, i) => (cumulative[i] = acc + w / total), 0);
  const pick = (u: number) => agents[Math.min(agents.length - 1, cumulative.findIndex((c) => c >= u))]!;
  const seed = { site_id: 'site-1', event_type: 'page_view', path: '/pricing', user_id: 'user-1', timestamp: '2025-11-16T10:00:00Z' };
  const plain = Array.from({ length: events }, (_, i) => ({ ...seed, user_id: `user-${i}` }));
  const rich = Array.from({ length: events }, (_, i) => ({
    ...seed,
    user_id: `user-${i}`,
    hostname: 'shop.example.com',
    referrer: REFERRERS[i % REFERRERS.length]!,
    ...(i % 4 === 0 ? { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring' } : {}),
    ...(i % 10 === 0 ? { event_type: 'signup', props: { plan: 'pro', seats: 3 } } : {}),
    user_agent: pick(((i * 0.6180339887) % 1) || 0.5),
    ip: IPS[i % IPS.length]!,
  }));
  const distinctAgents = new Set(rich.map((e) => e.user_agent)).size;
  const policy = { maxFutureMs: Date.now() + 86_400_000 };
  const countries = new CountryLookup(defaultCountryDatabase(), createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'bench'));
  const cpu = (work: () => void): number => {
    const start = process.cpuUsage();
    work();
    const used = process.cpuUsage(start);
    return used.user + used.system;
  };
  try {
    const request = { ip: '127.0.0.1', userAgent: 'curl/8.5.0' };
    // Warm V8 up on both paths with a separate enricher, so the measured one still starts with an empty cache.
    const warm = new Enricher(countries);
    for (let i = 0; i < 20_000; i++) {
      validateEventInput(plain[i]!, policy);
      const v = validateEventInput(rich[i]!, policy);
      if (v.ok) warm.enrich(v.value, request);
    }
    const baseline = cpu(() => {
      for (const e of plain) validateEventInput(e, policy);
    });
    const enricher = new Enricher(countries);
    const withContext = cpu(() => {
      for (const e of rich) {
        const v = validateEventInput(e, policy);
        if (v.ok) enricher.enrich(v.value as EventInput, request);
      }
    });
    // A miss: every agent new to the cache (parse + bot check).
    const cold = new Enricher(countries);
    const missEvents = rich.slice(0, Math.min(rich.length, 5000)).map((e, i) => ({ ...e, user_agent: `${e.user_agent} u${i}` }));
    const misses = cpu(() => {
      for (const e of missEvents) cold.enrich(e, request);
    });
    return {
      events,
      distinctAgents,
      baselineUs: baseline / events,
      withContextUs: withContext / events,
      addedUs: (withContext - baseline) / events,
      cacheMissUs: misses / missEvents.length,
    };
  } finally {
    void countries.close();
  }
}
