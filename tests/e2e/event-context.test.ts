import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, createProducer } from '@sitestream/shared';
import { readTopicRecords } from '../helpers/kafka';
import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';

/**
 * Issue 12 end to end: a fixed dataset of known referrers, campaigns, props, user agents and addresses goes
 * through real ingest → Kafka → consumer → PostgreSQL twice — once with the visitor's agent and address in the
 * request's headers (User-Agent, X-Forwarded-For behind one trusted proxy), once as `user_agent`/`ip` body
 * fields from a server-side sender — and every row must hold exactly the derived columns written out below
 * (by hand, from the rules and the shipped country database, not by the code under test). Bots never
 * land. Afterwards the topic, every table and every log line are searched for the raw addresses and agents.
 */

const AGENTS = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  firefoxUbuntu: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  safariIpad: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  samsungPhone: 'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  edgeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70',
  chromebook: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  androidTablet: 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  operaMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0',
  firefoxAndroid: 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  headlessChrome: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
  curl: 'curl/8.5.0',
} as const;

/** The derived columns of analytics.website_events; absent = NULL. */
interface Derived {
  hostname?: string;
  referrer?: string;
  source?: string;
  utm_source?: string;
  utm_medium?: string;
  utm_campaign?: string;
  utm_term?: string;
  utm_content?: string;
  browser?: string;
  os?: string;
  device?: string;
  country?: string;
  props?: Record<string, unknown>;
}

interface Case {
  name: string;
  agent: string;
  ip: string;
  /** Context fields the client sends besides agent and address. */
  send: Record<string, unknown>;
  /** undefined: a bot, answered 202 "ignored" and never stored. */
  expect: Derived | undefined;
  /** Only as body fields: as a request header, curl is the server-side sender's own agent (stored). */
  bodyOnly?: boolean;
}

const SHOP = 'shop.example.com';
const CASES: Case[] = [
  {
    name: 'search referrer, www. dropped, query and fragment dropped',
    agent: AGENTS.chromeWindows,
    ip: '8.8.8.8',
    send: { hostname: SHOP, referrer: 'https://www.google.com/search?q=secret+token#frag' },
    expect: { hostname: SHOP, referrer: 'https://www.google.com/search', source: 'google.com', browser: 'Chrome', os: 'Windows', device: 'Desktop', country: 'US' },
  },
  {
    name: 'utm_source wins over the referrer',
    agent: AGENTS.safariIphone,
    ip: '81.2.69.142',
    send: { hostname: SHOP, referrer: 'https://mail.example.org/inbox?id=42', utm_source: 'Newsletter', utm_medium: 'email', utm_campaign: 'spring-sale' },
    expect: {
      hostname: SHOP, referrer: 'https://mail.example.org/inbox', source: 'Newsletter', utm_source: 'Newsletter', utm_medium: 'email', utm_campaign: 'spring-sale',
      browser: 'Safari', os: 'iOS', device: 'Mobile', country: 'GB',
    },
  },
  {
    name: 'internal navigation has no source',
    agent: AGENTS.firefoxUbuntu,
    ip: '5.9.0.1',
    send: { hostname: SHOP, referrer: 'https://shop.example.com/cart?session=abc' },
    expect: { hostname: SHOP, referrer: 'https://shop.example.com/cart', browser: 'Firefox', os: 'Linux', device: 'Desktop', country: 'DE' },
  },
  {
    name: 'www. of the own host is compared before removal: external',
    agent: AGENTS.safariIpad,
    ip: '133.11.0.1',
    send: { hostname: SHOP, referrer: 'https://www.shop.example.com/' },
    expect: { hostname: SHOP, referrer: 'https://www.shop.example.com/', source: 'shop.example.com', browser: 'Safari', os: 'iOS', device: 'Tablet', country: 'JP' },
  },
  {
    name: 'another subdomain is external; custom event with props',
    agent: AGENTS.samsungPhone,
    ip: '200.160.2.3',
    send: { event_type: 'signup', hostname: SHOP, referrer: 'https://blog.shop.example.com/post/1', props: { plan: 'pro', seats: 3, trial: true } },
    expect: {
      hostname: SHOP, referrer: 'https://blog.shop.example.com/post/1', source: 'blog.shop.example.com', browser: 'Samsung Internet', os: 'Android', device: 'Mobile',
      country: 'BR', props: { plan: 'pro', seats: 3, trial: true },
    },
  },
  {
    name: 'direct visit over IPv6',
    agent: AGENTS.edgeWindows,
    ip: '2001:4860:4860::8888',
    send: {},
    expect: { browser: 'Edge', os: 'Windows', device: 'Desktop', country: 'US' },
  },
  {
    name: 'a private address has no country (the shipped data maps 192.168/16 to AU); no hostname: referrer is external',
    agent: AGENTS.chromebook,
    ip: '192.168.1.1',
    send: { referrer: 'https://News.YCombinator.com/item?id=1' },
    expect: { referrer: 'https://news.ycombinator.com/item', source: 'news.ycombinator.com', browser: 'Chrome', os: 'ChromeOS', device: 'Desktop' },
  },
  {
    name: 'loopback has no country; "" is no referrer; every utm_ field',
    agent: AGENTS.androidTablet,
    ip: '127.0.0.1',
    send: { hostname: SHOP, referrer: '', utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'brand', utm_term: 'running shoes', utm_content: 'ad-2' },
    expect: {
      hostname: SHOP, source: 'bing', utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'brand', utm_term: 'running shoes', utm_content: 'ad-2',
      browser: 'Chrome', os: 'Android', device: 'Tablet',
    },
  },
  {
    name: 'credentials and port: credentials dropped, port kept in the referrer, not in the source',
    agent: AGENTS.operaMac,
    ip: '2a01:4f8::1',
    send: { hostname: SHOP, referrer: 'http://user:pw@www.example.net:8080/a/b?c=d' },
    expect: { hostname: SHOP, referrer: 'http://www.example.net:8080/a/b', source: 'example.net', browser: 'Opera', os: 'macOS', device: 'Desktop', country: 'DE' },
  },
  {
    name: 'props of every value type',
    agent: AGENTS.firefoxAndroid,
    ip: '81.2.69.142',
    send: { hostname: SHOP, props: { s: 'ünïcode 😀', n: -1.5, z: 0, f: false } },
    expect: { hostname: SHOP, browser: 'Firefox', os: 'Android', device: 'Mobile', country: 'GB', props: { s: 'ünïcode 😀', n: -1.5, z: 0, f: false } },
  },
  { name: 'Googlebot', agent: AGENTS.googlebot, ip: '66.249.66.1', send: { hostname: SHOP }, expect: undefined },
  { name: 'HeadlessChrome', agent: AGENTS.headlessChrome, ip: '8.8.4.4', send: { hostname: SHOP, props: { plan: 'pro' } }, expect: undefined },
  { name: 'curl relayed as the visitor', agent: AGENTS.curl, ip: '8.8.8.8', send: {}, expect: undefined, bodyOnly: true },
];

type Mode = 'headers' | 'body';
const SITE = 'ctx-site';
const userOf = (mode: Mode, c: Case) => `${mode}:${c.name}`;

describe('events carry their derived context, and nothing personal', () => {
  let pipeline: Pipeline;
  const logLines: string[] = [];
  const answers: { mode: Mode; c: Case; status: number; body: any }[] = [];

  beforeAll(async () => {
    // Everything the services log, at the most verbose level, is kept to be searched.
    const logger = createLogger({ LOG_LEVEL: 'trace', LOG_PRETTY: false }, 'test', { write: (line: string) => logLines.push(line) });
    pipeline = await startPipeline({ TRUST_PROXY_HOPS: 1, LOG_LEVEL: 'trace' }, { logger });
  }, 120_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  async function sendCase(mode: Mode, c: Case): Promise<void> {
    const event = { site_id: SITE, event_type: 'page_view', path: '/landing', user_id: userOf(mode, c), timestamp: '2025-11-16T10:00:00Z', ...c.send };
    // Headers: a browser behind one trusted proxy, which appends the client's address; the left entry is the
    // client's own claim and must not count. Body: a server-side sender (curl) relaying its visitor.
    const r =
      mode === 'headers'
        ? await postJson(`${pipeline.ingestUrl}/event`, event, { 'user-agent': c.agent, 'x-forwarded-for': `203.0.113.9, ${c.ip}` })
        : await postJson(`${pipeline.ingestUrl}/event`, { ...event, user_agent: c.agent, ip: c.ip }, { 'user-agent': AGENTS.curl });
    answers.push({ mode, c, status: r.status, body: r.body });
  }

  it('answers 202 to every event: accepted, or ignored as a bot', async () => {
    for (const mode of ['headers', 'body'] as const) for (const c of CASES) if (mode === 'body' || !c.bodyOnly) await sendCase(mode, c);
    for (const a of answers) {
      expect({ name: `${a.mode}:${a.c.name}`, status: a.status, body: a.body }).toEqual({
        name: `${a.mode}:${a.c.name}`,
        status: 202,
        body: a.c.expect ? { status: 'accepted', event_id: expect.any(String) } : { status: 'ignored', reason: 'bot' },
      });
    }
  });

  it('stores exactly the derived columns, the same whether sent as headers or as body fields, and no bot', async () => {
    const stored = CASES.filter((c) => c.expect).length * 2;
    const rows = await waitFor(async () => {
      const r = await pipeline.db('analytics.website_events').where({ site_id: SITE }).select('*');
      return r.length >= stored ? r : undefined;
    }, { what: `${stored} context events stored` });
    expect(rows).toHaveLength(stored);
    const columns = ['hostname', 'referrer', 'source', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'browser', 'os', 'device', 'country', 'props'] as const;
    const byUser = new Map(rows.map((r) => [r.user_id, r]));
    for (const mode of ['headers', 'body'] as const) {
      for (const c of CASES) {
        const row = byUser.get(userOf(mode, c));
        if (!c.expect) {
          expect({ bot: userOf(mode, c), row }).toEqual({ bot: userOf(mode, c), row: undefined });
          continue;
        }
        const actual = Object.fromEntries(columns.map((k) => [k, row?.[k]]));
        const wanted = Object.fromEntries(columns.map((k) => [k, c.expect![k] ?? null]));
        expect({ event: userOf(mode, c), ...actual }).toEqual({ event: userOf(mode, c), ...wanted });
      }
    }
  });

  it('stores a server-side sender\'s own events (curl, no user_agent field) with no browser, os or device', async () => {
    const r = await postJson(
      `${pipeline.ingestUrl}/event`,
      { site_id: 'site-abc-123', event_type: 'page_view', path: '/pricing', user_id: 'user-xyz-789', timestamp: '2025-11-16T10:00:00Z' },
      { 'user-agent': AGENTS.curl, 'x-forwarded-for': '8.8.8.8' },
    );
    expect(r.body.status).toBe('accepted');
    const row = await waitFor(async () => (await pipeline.db('analytics.website_events').where({ site_id: 'site-abc-123' }).first()) ?? undefined, { what: 'the seed event stored' });
    expect([row.browser, row.os, row.device, row.country, row.source]).toEqual([null, null, null, 'US', null]);
    // …and the seed example still gives the seed's /stats.
    const { headers } = await createTestKey(pipeline.db);
    const stats = await getJson(`${pipeline.reportingUrl}/stats?site_id=site-abc-123&date=2025-11-16`, headers);
    expect(Object.fromEntries(['site_id', 'date', 'total_views', 'unique_users', 'top_paths'].map((k) => [k, stats.body[k]]))).toStrictEqual({
      site_id: 'site-abc-123',
      date: '2025-11-16',
      total_views: 1,
      unique_users: 1,
      top_paths: [{ path: '/pricing', views: 1 }],
    });
  });

  it('counts the ignored bots by reason', async () => {
    const bots = answers.filter((a) => !a.c.expect).length;
    const metrics = await (await fetch(`${pipeline.ingestManagementUrl}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('sitestream_ingest_events_ignored_total{') && l.includes('reason="bot"'));
    expect(line?.split(' ').pop()).toBe(String(bots));
  });

  it('stores messages with and without the context fields (a rolling upgrade), and refuses raw ip or user_agent on the topic', async () => {
    const kafka = createKafka(pipeline.config, createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'test'), 'test-old-producer');
    const producer = createProducer(kafka);
    await producer.connect();
    const base = { site_id: 'ctx-upgrade', event_type: 'page_view', path: '/', timestamp: '2025-11-16T10:00:00Z', received_at: '2025-11-16T10:00:01Z' };
    const old = { ...base, event_id: randomUUID(), user_id: 'old' };
    const fresh = { ...base, event_id: randomUUID(), user_id: 'new', source: 'google.com', country: 'FR', props: { a: 1 } };
    const raw = { ...base, event_id: randomUUID(), user_id: 'raw', ip: '9.9.9.9', user_agent: AGENTS.chromeWindows };
    await producer.send({ topic: pipeline.config.KAFKA_TOPIC, acks: -1, messages: [old, fresh, raw].map((m) => ({ key: m.site_id, value: JSON.stringify(m) })) });
    await producer.disconnect();
    const rows = await waitFor(async () => {
      const r = await pipeline.db('analytics.website_events').where({ site_id: 'ctx-upgrade' }).orderBy('user_id').select('user_id', 'source', 'country', 'props', 'browser');
      const dead = await pipeline.db('analytics.dead_letters').where('error', 'like', '%is not an allowed field%').count<{ count: string }[]>('* as count');
      return r.length === 2 && Number(dead[0]!.count) >= 1 ? r : undefined;
    }, { what: 'the old and the new message stored, the raw one dead-lettered' });
    expect(rows).toEqual([
      { user_id: 'new', source: 'google.com', country: 'FR', props: { a: 1 }, browser: null },
      { user_id: 'old', source: null, country: null, props: null, browser: null },
    ]);
    // The raw one is in dead_letters only: remove it before the search below, which is about what ingest wrote.
    await pipeline.db('analytics.dead_letters').del();
  });

  it('keeps no raw IP or user agent: not on the topic, in no table, in no log line', async () => {
    const needles = [...new Set([...CASES.map((c) => c.agent), ...CASES.map((c) => c.ip), '203.0.113.9'])].filter((n) => n !== '127.0.0.1');
    // The topic, minus the three records the previous test produced by hand (one of them carries a raw ip on purpose).
    const records = (await readTopicRecords(pipeline.config, pipeline.config.KAFKA_TOPIC)).map((b) => b.toString('utf8')).filter((t) => !t.includes('ctx-upgrade'));
    expect(records.length).toBeGreaterThanOrEqual(CASES.length);
    const tables = await pipeline.db.raw<{ rows: { schema: string; name: string }[] }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.rows.map((t) => t.name)).toContain('website_events');
    const dumps: string[] = [];
    for (const t of tables.rows) {
      const r = await pipeline.db.raw<{ rows: { row: string }[] }>(`SELECT t::text AS row FROM "${t.schema}"."${t.name}" t`);
      dumps.push(...r.rows.map((x) => `${t.schema}.${t.name}: ${x.row}`));
    }
    expect(logLines.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const needle of needles) {
      // Agents also as JSON-escaped text (how they would sit inside a log line or a message).
      const forms = [needle, JSON.stringify(needle).slice(1, -1)];
      for (const [where, texts] of [['topic', records], ['tables', dumps], ['logs', logLines]] as const) {
        for (const text of texts) if (forms.some((f) => text.includes(f))) found.push(`${where}: ${needle.slice(0, 40)} in ${text.slice(0, 120)}`);
      }
    }
    expect(found).toEqual([]);
  });
});
