import type { LedgerEvent } from './ledger';
import type { StatsClient } from './stage';
import type { Knex } from '@sitestream/db';

export interface RollupVerdict {
  exact: boolean;
  /** (site, day) pairs compared. */
  siteDays: number;
  /** One line per figure that differs, `site day figure: model=… stats=…`. */
  differences: string[];
}

/** What /stats must answer for one site and day, computed here from the events the client sent. */
interface DayModel {
  events: number;
  views: number;
  users: Set<string>;
  paths: Map<string, number>;
  types: Map<string, number>;
}

/**
 * The independent model: per site and UTC day (the harness never changes a site's zone, and /stats must say
 * UTC), counted in plain JavaScript from the events the ledger holds — none of the consumer's SQL is reused.
 */
export function modelRollups(events: LedgerEvent[]): Map<string, DayModel> {
  const days = new Map<string, DayModel>();
  for (const e of events) {
    const key = `${e.site_id} ${new Date(e.timestamp).toISOString().slice(0, 10)}`;
    let d = days.get(key);
    if (!d) days.set(key, (d = { events: 0, views: 0, users: new Set(), paths: new Map(), types: new Map() }));
    d.events++;
    d.users.add(e.user_id);
    d.types.set(e.event_type, (d.types.get(e.event_type) ?? 0) + 1);
    if (e.event_type === 'page_view') {
      d.views++;
      d.paths.set(e.path, (d.paths.get(e.path) ?? 0) + 1);
    }
  }
  return days;
}

interface DayAnswer {
  total_views: number;
  unique_users: number;
  total_events: number;
  top_paths: { path: string; views: number }[];
  event_types: { event_type: string; events: number }[];
  time_zone: string;
}

type Check = (model: Map<string, DayModel>, db: Knex, stats: StatsClient) => Promise<string[]>;

/** /stats for every (site, day) of the model, through real HTTP with an API key, figure by figure. */
const statsMatchModel: Check = async (model, _db, stats) => {
  const differences: string[] = [];
  const keys = [...model.keys()];
  const ask = async (key: string): Promise<void> => {
    const [site, day] = key.split(' ') as [string, string];
    const m = model.get(key)!;
    const res = await fetch(`${stats.url}/stats?site_id=${encodeURIComponent(site)}&date=${day}&limit=1000`, { headers: stats.headers });
    if (res.status !== 200) {
      differences.push(`${key} /stats answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return;
    }
    const a = (await res.json()) as DayAnswer;
    const expect = (figure: string, modelValue: unknown, statsValue: unknown) => {
      if (JSON.stringify(modelValue) !== JSON.stringify(statsValue)) differences.push(`${key} ${figure}: model=${JSON.stringify(modelValue)} stats=${JSON.stringify(statsValue)}`);
    };
    expect('time_zone', 'UTC', a.time_zone);
    expect('total_events', m.events, a.total_events);
    expect('total_views', m.views, a.total_views);
    expect('unique_users', m.users.size, a.unique_users);
    expect('event_types', sortedEntries(m.types), sortedEntries(new Map(a.event_types.map((t) => [t.event_type, t.events]))));
    expect('top_paths', sortedEntries(m.paths), sortedEntries(new Map(a.top_paths.map((p) => [p.path, p.views]))));
    // "Top": the answer lists the most viewed first.
    expect('top_paths order', true, a.top_paths.every((p, i) => i === 0 || a.top_paths[i - 1]!.views >= p.views));
  };
  for (let i = 0; i < keys.length; i += 8) await Promise.all(keys.slice(i, i + 8).map(ask));
  return differences;
};

/** No rollup row for a (site, day) the model does not have: /stats cannot list sites, the tables can. */
const noStrayRollups: Check = async (model, db) => {
  const rows = await db.raw<{ rows: { site_id: string; day: string; source: string }[] }>(
    `SELECT site_id, day::text AS day, 'daily_event_counts' AS source FROM analytics.daily_event_counts
     UNION SELECT site_id, day::text, 'daily_path_views' FROM analytics.daily_path_views
     UNION SELECT site_id, day::text, 'daily_users' FROM analytics.daily_users
     UNION SELECT site_id, day::text, 'daily_user_counts' FROM analytics.daily_user_counts`,
  );
  return rows.rows.filter((r) => !model.has(`${r.site_id} ${r.day}`)).map((r) => `${r.site_id} ${r.day} in ${r.source}: not in the model`);
};

/**
 * Every check the rollups must pass after a drain. Visits (sessions) do not exist yet: when their tables land,
 * add a `visitsMatchModel` check here, with the visit model computed from the same events in modelRollups.
 */
const CHECKS: Check[] = [statsMatchModel, noStrayRollups];

export async function checkRollups(events: LedgerEvent[], db: Knex, stats: StatsClient): Promise<RollupVerdict> {
  const model = modelRollups(events);
  const differences: string[] = [];
  for (const check of CHECKS) differences.push(...(await check(model, db, stats)));
  return { exact: differences.length === 0, siteDays: model.size, differences };
}

function sortedEntries(m: Map<string, number>): [string, number][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
