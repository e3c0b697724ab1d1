import { localDay, type Ev } from './model';

/*
 * An independent model of visits, from the definitions in the README: a visitor's events sorted by instant
 * (ties: the smaller event_id first), cut where two consecutive ones are more than 1,800,000 ms apart.
 * Plain JavaScript over the events a test sent, none of the service's code.
 */

export interface ModelVisit {
  site_id: string;
  user_id: string;
  started_at: string;
  first_event_id: string;
  ended_at: string;
  day: string;
  events: number;
  pageviews: number;
  entry_path: string | null;
  exit_path: string | null;
}

const GAP_MS = 30 * 60 * 1000;

function order(a: Ev, b: Ev): number {
  const d = Date.parse(a.timestamp) - Date.parse(b.timestamp);
  if (d !== 0) return d;
  const x = a.event_id.toLowerCase();
  const y = b.event_id.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Every visit of the stored (distinct) events, sorted by site, user and start; zones by site (UTC if absent). */
export function modelVisits(stored: Ev[], zones: Record<string, string>): ModelVisit[] {
  const byVisitor = new Map<string, Ev[]>();
  for (const e of stored) {
    const key = `${e.site_id}\u0000${e.user_id}`;
    let list = byVisitor.get(key);
    if (!list) byVisitor.set(key, (list = []));
    list.push(e);
  }
  const visits: ModelVisit[] = [];
  for (const events of byVisitor.values()) {
    events.sort(order);
    let run: Ev[] = [];
    const close = () => {
      if (run.length === 0) return;
      const first = run[0]!;
      const last = run[run.length - 1]!;
      const views = run.filter((e) => e.event_type === 'page_view');
      visits.push({
        site_id: first.site_id,
        user_id: first.user_id,
        started_at: new Date(first.timestamp).toISOString(),
        first_event_id: first.event_id.toLowerCase(),
        ended_at: new Date(last.timestamp).toISOString(),
        day: localDay(first.timestamp, zones[first.site_id] ?? 'UTC'),
        events: run.length,
        pageviews: views.length,
        entry_path: views[0]?.path ?? null,
        exit_path: views[views.length - 1]?.path ?? null,
      });
      run = [];
    };
    for (const e of events) {
      const prev = run[run.length - 1];
      if (prev && Date.parse(e.timestamp) - Date.parse(prev.timestamp) > GAP_MS) close();
      run.push(e);
    }
    close();
  }
  return visits.sort((a, b) => cmp(a.site_id, b.site_id) || cmp(a.user_id, b.user_id) || cmp(a.started_at, b.started_at));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ModelVisitMetrics {
  visits: number;
  bounce_rate: number;
  visit_duration: number;
  views_per_visit: number;
}

/**
 * The /stats visit metrics of the visits whose day lies in [from, to]: 2 decimals, 0 without visits (README).
 * Durations in whole milliseconds (the datasets have no finer timestamps), so each metric is one division.
 */
export function modelVisitMetrics(visits: ModelVisit[], site: string, from: string, to: string): ModelVisitMetrics {
  const chosen = visits.filter((v) => v.site_id === site && v.day >= from && v.day <= to);
  const n = chosen.length;
  if (n === 0) return { visits: 0, bounce_rate: 0, visit_duration: 0, views_per_visit: 0 };
  const bounces = chosen.filter((v) => v.events === 1 && v.pageviews === 1).length;
  const durationMs = chosen.reduce((s, v) => s + (Date.parse(v.ended_at) - Date.parse(v.started_at)), 0);
  const views = chosen.reduce((s, v) => s + v.pageviews, 0);
  return {
    visits: n,
    bounce_rate: Math.round((bounces * 10_000) / n) / 100,
    visit_duration: Math.round(durationMs / (n * 10)) / 100,
    views_per_visit: Math.round((views * 100) / n) / 100,
  };
}
