import type { EventInput } from '@sitestream/shared';
import { modelVisitMetrics, modelVisits } from './visits-model';

/*
 * An independent model of /stats: computed in JavaScript from the events a test sent, with Intl's time zone
 * database instead of PostgreSQL's, and none of the service's code. Definitions as in the README.
 */

/** An event as a test sends it, always with its event_id (duplicates are resent with the same one). */
export type Ev = EventInput & { event_id: string };

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar day (YYYY-MM-DD) of an instant in an IANA zone. */
export function localDay(timestamp: string, zone: string): string {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(zone, f);
  }
  return f.format(new Date(timestamp));
}

export function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Events as stored: one per (site_id, event_id), whatever was sent twice. */
export function distinctEvents(events: Ev[]): Ev[] {
  const seen = new Map<string, Ev>();
  for (const e of events) if (!seen.has(`${e.site_id}\u0000${e.event_id}`)) seen.set(`${e.site_id}\u0000${e.event_id}`, e);
  return [...seen.values()];
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(day) + n * 86_400_000).toISOString().slice(0, 10);
}

interface Figures {
  total_views: number;
  unique_users: number;
  top_paths: { path: string; views: number }[];
  total_events: number;
  event_types: { event_type: string; events: number }[];
}

function figures(events: Ev[], limit: number, offset: number): Figures {
  const views = events.filter((e) => e.event_type === 'page_view');
  const perPath = new Map<string, number>();
  for (const v of views) perPath.set(v.path, (perPath.get(v.path) ?? 0) + 1);
  const perType = new Map<string, number>();
  for (const e of events) perType.set(e.event_type, (perType.get(e.event_type) ?? 0) + 1);
  return {
    total_views: views.length,
    unique_users: new Set(events.map((e) => e.user_id)).size,
    top_paths: [...perPath.entries()]
      .sort(([pa, a], [pb, b]) => b - a || byCodePoint(pa, pb))
      .slice(offset, offset + limit)
      .map(([path, n]) => ({ path, views: n })),
    total_events: events.length,
    event_types: [...perType.entries()]
      .sort(([ta, a], [tb, b]) => b - a || byCodePoint(ta, tb))
      .slice(0, 100)
      .map(([event_type, n]) => ({ event_type, events: n })),
  };
}

/** What GET /stats?site_id&date answers, without data_as_of (which depends on when it is asked). */
export function expectedDay(stored: Ev[], site: string, zone: string, date: string, limit = 10, offset = 0) {
  const day = stored.filter((e) => e.site_id === site && localDay(e.timestamp, zone) === date);
  const visits = modelVisitMetrics(modelVisits(stored.filter((e) => e.site_id === site), { [site]: zone }), site, date, date);
  return { site_id: site, date, ...figures(day, limit, offset), time_zone: zone, ...visits };
}

/** What GET /stats?site_id&from&to answers, without data_as_of. */
export function expectedRange(stored: Ev[], site: string, zone: string, from: string, to: string, limit = 10, offset = 0) {
  const inRange = stored.filter((e) => {
    if (e.site_id !== site) return false;
    const d = localDay(e.timestamp, zone);
    return d >= from && d <= to;
  });
  const timeseries: { date: string; views: number; events: number; unique_users: number }[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const day = inRange.filter((e) => localDay(e.timestamp, zone) === d);
    timeseries.push({
      date: d,
      views: day.filter((e) => e.event_type === 'page_view').length,
      events: day.length,
      unique_users: new Set(day.map((e) => e.user_id)).size,
    });
  }
  const f = figures(inRange, limit, offset);
  return {
    site_id: site,
    from,
    to,
    total_views: f.total_views,
    unique_users: f.unique_users,
    top_paths: f.top_paths,
    total_events: f.total_events,
    event_types: f.event_types,
    timeseries,
    time_zone: zone,
    ...modelVisitMetrics(modelVisits(stored.filter((e) => e.site_id === site), { [site]: zone }), site, from, to),
  };
}

/** A deterministic pseudo-random generator (mulberry32), so a failing dataset can be reproduced. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
