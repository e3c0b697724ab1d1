import { byCodePoint, localDay, seededRandom, type Ev } from './model';
import { modelVisits, type ModelVisit } from './visits-model';

/*
 * An independent model of POST /api/v2/query, from the semantics in the README: plain JavaScript over the events
 * a test sent (with the context ingest derives for them, written by hand per agent and address), Intl's zone
 * database, and none of the service's code.
 */

export const NOT_SET = '(not set)';
export const DIRECT = 'Direct / None';
const SHOP = 'shop.example.com';

export interface Ctx {
  hostname?: string; referrer?: string; source?: string; utm_source?: string; utm_medium?: string; utm_campaign?: string;
  utm_term?: string; utm_content?: string; browser?: string; os?: string; device?: string; country?: string;
}
/** A sent event, its body fields for ingest and the context the pipeline derives from them. */
export type QEv = Ev & { ctx: Ctx; props?: Record<string, string | number | boolean> };

/** Agents and addresses whose derived values the event-context test checks. */
const PROFILES: { send: Record<string, string>; ctx: Ctx }[] = [
  {
    send: { user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', ip: '8.8.8.8', hostname: SHOP, referrer: 'https://www.google.com/search?q=x' },
    ctx: { hostname: SHOP, referrer: 'https://www.google.com/search', source: 'google.com', browser: 'Chrome', os: 'Windows', device: 'Desktop', country: 'US' },
  },
  {
    send: { user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', ip: '81.2.69.142', hostname: SHOP, utm_source: 'Newsletter', utm_medium: 'email', utm_campaign: 'spring-sale' },
    ctx: { hostname: SHOP, source: 'Newsletter', utm_source: 'Newsletter', utm_medium: 'email', utm_campaign: 'spring-sale', browser: 'Safari', os: 'iOS', device: 'Mobile', country: 'GB' },
  },
  {
    send: { user_agent: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', ip: '5.9.0.1', hostname: SHOP, referrer: 'https://shop.example.com/cart?s=1' },
    ctx: { hostname: SHOP, referrer: 'https://shop.example.com/cart', browser: 'Firefox', os: 'Linux', device: 'Desktop', country: 'DE' },
  },
  {
    send: { user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70', ip: '2001:4860:4860::8888' },
    ctx: { browser: 'Edge', os: 'Windows', device: 'Desktop', country: 'US' },
  },
  {
    send: { user_agent: 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', ip: '127.0.0.1', hostname: SHOP, utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'brand', utm_term: 'running shoes', utm_content: 'ad-2' },
    ctx: { hostname: SHOP, source: 'bing', utm_source: 'bing', utm_medium: 'cpc', utm_campaign: 'brand', utm_term: 'running shoes', utm_content: 'ad-2', browser: 'Chrome', os: 'Android', device: 'Tablet' },
  },
  {
    send: { user_agent: 'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36', ip: '200.160.2.3', hostname: SHOP, referrer: 'https://blog.shop.example.com/post/1' },
    ctx: { hostname: SHOP, referrer: 'https://blog.shop.example.com/post/1', source: 'blog.shop.example.com', browser: 'Samsung Internet', os: 'Android', device: 'Mobile', country: 'BR' },
  },
];

export const QUERY_ZONES: Record<string, string> = { 'q-ist': 'Asia/Kolkata', 'q-ny': 'America/New_York', 'q-utc': 'UTC' };

/**
 * Visitors of three sites from 2025-10-30 to 2025-11-04 (New York falls back on 2025-11-02 at 06:00Z; Kolkata's
 * midnight is 18:30Z): visits of 1–5 events a few minutes apart, hours between visits, each event with its own
 * profile (so a visit's attributes are its first event's, not its later ones'), signups with props.
 */
export function queryDataset(seed = 1414): { events: QEv[]; bodies: Record<string, unknown>[] } {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const hex = () => Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const uuid = () => { const h = hex(); return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`; };
  const events: QEv[] = [];
  const bodies: Record<string, unknown>[] = [];
  const start = Date.parse('2025-10-30T12:00:00Z');
  for (const site of Object.keys(QUERY_ZONES)) {
    for (let u = 0; u < 30; u++) {
      let t = start + Math.floor(rnd() * 100) * 3_600_000 + Math.floor(rnd() * 3_600_000);
      const visits = 1 + Math.floor(rnd() * 3);
      for (let v = 0; v < visits; v++) {
        const n = 1 + Math.floor(rnd() * 5);
        for (let i = 0; i < n; i++) {
          const profile = pick(PROFILES);
          const type = i === 0 ? pick(['page_view', 'page_view', 'page_view', 'click']) : pick(['page_view', 'page_view', 'click', 'signup']);
          const props: Record<string, string | number | boolean> | undefined = type === 'signup' ? (rnd() < 0.7 ? { plan: pick(['pro', 'free']), seats: 1 + Math.floor(rnd() * 3) } : { trial: true }) : undefined;
          const e: QEv = {
            event_id: uuid(), site_id: site, event_type: type, path: pick(['/', '/pricing', '/blog/a', '/blog/b', '/Docs']),
            user_id: `u${u}`, timestamp: new Date(t).toISOString(), ctx: profile.ctx, ...(props ? { props } : {}),
          };
          events.push(e);
          const { ctx: _ctx, ...fields } = e;
          bodies.push({ ...fields, ...profile.send });
          t += 60_000 * (1 + Math.floor(rnd() * 20));
        }
        t += 3_600_000 * (1 + Math.floor(rnd() * 20));
      }
    }
  }
  return { events, bodies };
}

export interface ModelQuery {
  site_id: string;
  metrics: string[];
  date_range: [string, string];
  dimensions?: string[];
  filters?: [string, string, string[]][];
  order_by?: [string, 'asc' | 'desc'][];
  pagination?: { limit?: number; offset?: number };
}
export interface ModelRow { dimensions: string[]; metrics: (number | null)[] }

const EVENT_METRICS = ['visitors', 'pageviews', 'events'];
const VISIT_COLUMN: Record<string, keyof Ctx> = {
  'visit:source': 'source', 'visit:referrer': 'referrer', 'visit:utm_source': 'utm_source', 'visit:utm_medium': 'utm_medium',
  'visit:utm_campaign': 'utm_campaign', 'visit:utm_term': 'utm_term', 'visit:utm_content': 'utm_content', 'visit:browser': 'browser',
  'visit:os': 'os', 'visit:device': 'device', 'visit:country': 'country',
};

function localParts(ts: string, zone: string): { day: string; hour: string } {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
  const p = Object.fromEntries(f.formatToParts(new Date(ts)).map((x) => [x.type, x.value]));
  return { day: `${p.year}-${p.month}-${p.day}`, hour: p.hour! };
}
function timeLabel(dim: string, ts: string, zone: string): string {
  const { day, hour } = localParts(ts, zone);
  if (dim === 'time:hour') return `${day} ${hour}:00:00`;
  if (dim === 'time:day') return day;
  if (dim === 'time:month') return `${day.slice(0, 8)}01`;
  const d = new Date(Date.parse(day));
  return new Date(Date.parse(day) - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
}

/** Every row the query has, in the answer's order, before paging. */
export function modelQuery(all: QEv[], q: ModelQuery): ModelRow[] {
  const zone = QUERY_ZONES[q.site_id] ?? 'UTC';
  const [from, to] = q.date_range;
  const dims = q.dimensions ?? [];
  const events = all.filter((e) => e.site_id === q.site_id);
  const visits = modelVisits(events, { [q.site_id]: zone });
  const byId = new Map(events.map((e) => [e.event_id.toLowerCase(), e]));
  const visitOf = new Map<QEv, ModelVisit>();
  const eventsOf = new Map<ModelVisit, QEv[]>();
  for (const v of visits) eventsOf.set(v, []);
  for (const e of events) {
    const v = visits.find((x) => x.user_id === e.user_id && Date.parse(x.started_at) <= Date.parse(e.timestamp) && Date.parse(x.ended_at) >= Date.parse(e.timestamp))!;
    visitOf.set(e, v);
    eventsOf.get(v)!.push(e);
  }
  const visitShown = (d: string, v: ModelVisit): string => {
    if (d === 'visit:entry_page') return v.entry_path ?? NOT_SET;
    if (d === 'visit:exit_page') return v.exit_path ?? NOT_SET;
    if (d.startsWith('time:')) return timeLabel(d, v.started_at, zone);
    const value = byId.get(v.first_event_id)!.ctx[VISIT_COLUMN[d]!];
    return value ?? (d === 'visit:source' ? DIRECT : NOT_SET);
  };
  const eventShown = (d: string, e: QEv): string => {
    if (d === 'event:page') return e.path;
    if (d === 'event:name') return e.event_type;
    if (d === 'event:hostname') return e.ctx.hostname ?? NOT_SET;
    if (d.startsWith('event:props:')) { const v = e.props?.[d.slice(12)]; return v === undefined ? NOT_SET : String(v); }
    if (d.startsWith('time:')) return timeLabel(d, e.timestamp, zone);
    return visitShown(d, visitOf.get(e)!);
  };
  const passes = (e: QEv) => (q.filters ?? []).every(([op, d, values]) => {
    const shown = eventShown(d, e);
    const hit = op.startsWith('is') ? values.includes(shown) : values.some((x) => shown.includes(x));
    return op.endsWith('_not') ? !hit : hit;
  });

  const rows = new Map<string, { dims: string[]; ev?: QEv[]; vi?: ModelVisit[] }>();
  const row = (key: string[]) => {
    const k = JSON.stringify(key);
    if (!rows.has(k)) rows.set(k, { dims: key });
    return rows.get(k)!;
  };
  const wantsEvents = q.metrics.some((m) => EVENT_METRICS.includes(m));
  const wantsVisits = q.metrics.some((m) => !EVENT_METRICS.includes(m));
  if (dims.length === 0) row([]);
  if (wantsEvents) {
    for (const e of events) {
      const day = localDay(e.timestamp, zone);
      if (day < from || day > to || !passes(e)) continue;
      const r = row(dims.map((d) => eventShown(d, e)));
      (r.ev ??= []).push(e);
    }
  }
  if (wantsVisits) {
    for (const v of visits) {
      if (v.day < from || v.day > to || !eventsOf.get(v)!.some(passes)) continue;
      const r = row(dims.map((d) => visitShown(d, v)));
      (r.vi ??= []).push(v);
    }
  }
  const metric = (m: string, ev: QEv[] = [], vi: ModelVisit[] = []): number | null => {
    const n = vi.length;
    switch (m) {
      case 'visitors': return new Set(ev.map((e) => e.user_id)).size;
      case 'pageviews': return ev.filter((e) => e.event_type === 'page_view').length;
      case 'events': return ev.length;
      case 'visits': return n;
      case 'bounce_rate': return n === 0 ? null : Math.round((vi.filter((v) => v.events === 1 && v.pageviews === 1).length * 10_000) / n) / 100;
      case 'visit_duration': return n === 0 ? null : Math.round(vi.reduce((s, v) => s + Date.parse(v.ended_at) - Date.parse(v.started_at), 0) / (n * 10)) / 100;
      case 'views_per_visit': return n === 0 ? null : Math.round((vi.reduce((s, v) => s + v.pageviews, 0) * 100) / n) / 100;
      default: throw new Error(m);
    }
  };
  const out = [...rows.values()].map((r) => ({ dimensions: r.dims, metrics: q.metrics.map((m) => metric(m, r.ev, r.vi)) }));
  const order = q.order_by ?? [[q.metrics[0]!, 'desc']];
  const value = (r: ModelRow, name: string) => (dims.includes(name) ? r.dimensions[dims.indexOf(name)]! : r.metrics[q.metrics.indexOf(name)]!);
  out.sort((a, b) => {
    for (const [name, dir] of order) {
      const x = value(a, name);
      const y = value(b, name);
      let c: number;
      if (typeof x === 'string' || typeof y === 'string') c = byCodePoint(String(x), String(y));
      else c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x - y; // null sorts below every number
      if (c !== 0) return dir === 'asc' ? c : -c;
    }
    for (let i = 0; i < dims.length; i++) {
      const c = byCodePoint(a.dimensions[i]!, b.dimensions[i]!);
      if (c !== 0) return c;
    }
    return 0;
  });
  return out;
}

/** One page of the model's rows. */
export function modelPage(all: QEv[], q: ModelQuery): ModelRow[] {
  const offset = q.pagination?.offset ?? 0;
  return modelQuery(all, q).slice(offset, offset + (q.pagination?.limit ?? 1000));
}
