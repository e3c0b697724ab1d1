import { randomUUID } from 'node:crypto';

/**
 * The events the pipeline benches send: spread evenly over `sites`, paths and users skewed (a few hot pages and
 * heavy visitors, a long tail), timestamped now. With context, an event also carries what the tracker sends on a
 * real page (hostname, referrer, campaign tags on some, props on some), and the visitor's user agent and address
 * come with it — stable per visitor, so visits and devices add up as they would for real people.
 */
export interface EventOptions {
  sites: number;
  context: boolean;
}

export type BenchEvent = Record<string, unknown>;

const REFERRERS = [
  'https://www.google.com/search?q=running+shoes',
  'https://www.bing.com/search?q=trail+shoes',
  'https://duckduckgo.com/',
  'https://t.co/abc123',
  'https://www.facebook.com/',
  'https://news.ycombinator.com/item?id=1',
  'https://www.reddit.com/r/running/',
];
const CAMPAIGNS = [
  { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring' },
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand', utm_term: 'shoes' },
  { utm_source: 'facebook', utm_medium: 'social', utm_campaign: 'launch', utm_content: 'video' },
];
const AGENTS = [
  (v: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.${6000 + v}.${v % 200} Safari/537.36`,
  (v: number) => `Mozilla/5.0 (iPhone; CPU iPhone OS 17_${v % 7} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${v % 7} Mobile/15E148 Safari/604.1`,
  (v: number) => `Mozilla/5.0 (X11; Linux x86_64; rv:${115 + (v % 20)}.0) Gecko/20100101 Firefox/${115 + (v % 20)}.0`,
  (v: number) => `Mozilla/5.0 (Linux; Android 14; Pixel ${6 + (v % 3)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.0.0 Mobile Safari/537.36`,
  (v: number) => `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${v % 5} Safari/605.1.15`,
];
const FIRST_OCTETS = [24, 73, 81, 86, 91, 104, 151, 176, 185, 203];

/** The visitor's browser and address, derived from the user number so they do not change between events. */
export function visitorAgent(user: number): { userAgent: string; ip: string } {
  // A few hundred distinct user agents over the 5 families: ingest's user-agent cache sees more than a handful.
  const v = (user * 2654435761) % 1000;
  return {
    userAgent: AGENTS[v % AGENTS.length]!(Math.floor(v / AGENTS.length)),
    ip: `${FIRST_OCTETS[user % FIRST_OCTETS.length]}.${(user >> 16) & 255}.${(user >> 8) & 255}.${user & 255}`,
  };
}

/** One event; `user` is returned too, so a single POST can send the visitor's headers. */
export function makeEvent(options: EventOptions): { event: BenchEvent; user: number } {
  const r = Math.random();
  const site = Math.floor(Math.random() * options.sites);
  const user = Math.floor(200_000 * Math.random() ** 2);
  const eventType = r < 0.8 ? 'page_view' : r < 0.95 ? 'click' : 'scroll';
  const path = `/p/${Math.floor(5000 * Math.random() ** 3)}`;
  const event: BenchEvent = { event_id: randomUUID(), site_id: `site-${site}`, event_type: eventType, path, user_id: `u${user}`, timestamp: new Date().toISOString() };
  if (!options.context) return { event, user };
  const host = `site-${site}.example.com`;
  event.hostname = host;
  const ref = Math.random();
  // 40% direct, 40% from another site, 20% from the site itself (the next page of a visit).
  if (ref >= 0.4) event.referrer = ref < 0.8 ? REFERRERS[Math.floor(Math.random() * REFERRERS.length)] : `https://${host}/p/${Math.floor(50 * Math.random())}`;
  if (Math.random() < 0.15) Object.assign(event, CAMPAIGNS[Math.floor(Math.random() * CAMPAIGNS.length)]);
  if (eventType === 'click') event.props = { button: Math.random() < 0.5 ? 'signup' : 'buy', position: Math.floor(10 * Math.random()) };
  else if (Math.random() < 0.1) event.props = { plan: 'pro', logged_in: true };
  return { event, user };
}

/**
 * A POST /events body as a server-side relay sends it: with context, each event names its visitor's user agent
 * and address (the relay's own are not the visitor's).
 */
export function makeBatch(size: number, options: EventOptions): BenchEvent[] {
  return Array.from({ length: size }, () => {
    const { event, user } = makeEvent(options);
    if (!options.context) return event;
    const agent = visitorAgent(user);
    return { ...event, user_agent: agent.userAgent, ip: agent.ip };
  });
}
