import { namedSql, prepared, type Knex } from '@sitestream/db';
import { STATS_QUERY_LIMITS } from '@sitestream/shared';
import type { StatsParams } from './stats-params';

export interface PathViews {
  path: string;
  views: number;
}

export interface EventTypeCount {
  event_type: string;
  events: number;
}

export interface DayPoint {
  date: string;
  views: number;
  events: number;
  unique_users: number;
}

/** The seed's five fields first, in the seed's order; everything added comes after them. */
export interface DayStats {
  site_id: string;
  date: string;
  total_views: number;
  unique_users: number;
  top_paths: PathViews[];
  total_events: number;
  event_types: EventTypeCount[];
  time_zone: string;
  data_as_of: string | null;
  visits: number;
  bounce_rate: number;
  visit_duration: number;
  views_per_visit: number;
}

export interface RangeStats {
  site_id: string;
  from: string;
  to: string;
  total_views: number;
  unique_users: number;
  top_paths: PathViews[];
  total_events: number;
  event_types: EventTypeCount[];
  timeseries: DayPoint[];
  time_zone: string;
  data_as_of: string | null;
  visits: number;
  bounce_rate: number;
  visit_duration: number;
  views_per_visit: number;
}

export type StatsResponse = DayStats | RangeStats;

// A site chooses its own event types, so there may be many: an answer lists the most frequent ones.
const MAX_EVENT_TYPES = STATS_QUERY_LIMITS.maxEventTypes;

// Read from the rollups only, in one statement so every figure comes from the same snapshot.
const COMMON = `
  (SELECT time_zone FROM analytics.sites WHERE site_id = :site) AS time_zone,
  (SELECT min(max_received_at) FROM analytics.partition_watermarks) AS data_as_of,
  (SELECT coalesce(sum(events), 0) FROM analytics.daily_event_counts
     WHERE site_id = :site AND day BETWEEN :from AND :to) AS total_events,
  (SELECT coalesce(sum(events), 0) FROM analytics.daily_event_counts
     WHERE site_id = :site AND day BETWEEN :from AND :to AND event_type = 'page_view') AS total_views,
  (SELECT coalesce(json_agg(t ORDER BY t.events DESC, t.event_type COLLATE "C"), '[]') FROM (
     SELECT event_type, sum(events) AS events FROM analytics.daily_event_counts
     WHERE site_id = :site AND day BETWEEN :from AND :to
     GROUP BY event_type ORDER BY events DESC, event_type COLLATE "C" LIMIT ${MAX_EVENT_TYPES}) t) AS event_types,
  (SELECT json_build_object('visits', coalesce(sum(visits), 0)::text, 'bounces', coalesce(sum(bounces), 0)::text,
       'pageviews', coalesce(sum(pageviews), 0)::text, 'duration_us', coalesce(sum(duration_us), 0)::text)
   FROM analytics.daily_visits WHERE site_id = :site AND day BETWEEN :from AND :to) AS visit_sums`;

// Ties are broken by path in code point order (COLLATE "C" compares UTF-8 bytes), independent of locale.
const DAY_SQL = `SELECT ${COMMON},
  (SELECT coalesce(json_agg(p ORDER BY p.views DESC, p.path COLLATE "C"), '[]') FROM (
     SELECT path, views FROM analytics.daily_path_views WHERE site_id = :site AND day = :from
     ORDER BY views DESC, path COLLATE "C" LIMIT :limit OFFSET :offset) p) AS top_paths,
  (SELECT coalesce(max(users), 0) FROM analytics.daily_user_counts WHERE site_id = :site AND day = :from) AS unique_users`;

// Over a range a user is counted once, however many days they were seen: exact, and the cost of a range grows
// with the distinct users per day times its days (bounded by the statement timeout).
const RANGE_SQL = `SELECT ${COMMON},
  (SELECT coalesce(json_agg(p ORDER BY p.views DESC, p.path COLLATE "C"), '[]') FROM (
     SELECT path, sum(views) AS views FROM analytics.daily_path_views WHERE site_id = :site AND day BETWEEN :from AND :to
     GROUP BY path_hash, path ORDER BY views DESC, path COLLATE "C" LIMIT :limit OFFSET :offset) p) AS top_paths,
  (SELECT count(*) FROM (SELECT DISTINCT user_id FROM analytics.daily_users
     WHERE site_id = :site AND day BETWEEN :from AND :to) u) AS unique_users,
  (SELECT json_agg(json_build_object(
       'date', to_char(g.day, 'YYYY-MM-DD'),
       'views', coalesce(c.views, 0),
       'events', coalesce(c.events, 0),
       'unique_users', coalesce(u.users, 0)) ORDER BY g.day)
   FROM (SELECT d::date AS day FROM generate_series(:from::date::timestamp, :to::date::timestamp, interval '1 day') d) g
   LEFT JOIN (SELECT day, sum(events) AS events, coalesce(sum(events) FILTER (WHERE event_type = 'page_view'), 0) AS views
              FROM analytics.daily_event_counts WHERE site_id = :site AND day BETWEEN :from AND :to GROUP BY day) c
     ON c.day = g.day
   LEFT JOIN analytics.daily_user_counts u ON u.site_id = :site AND u.day = g.day) AS timeseries`;

interface Row {
  time_zone: string | null;
  data_as_of: Date | null;
  total_events: number | string;
  total_views: number | string;
  event_types: { event_type: string; events: number }[];
  top_paths: { path: string; views: number }[];
  unique_users: number | string;
  timeseries?: DayPoint[];
  visit_sums: { visits: string; bounces: string; pageviews: string; duration_us: string };
}

export interface VisitMetrics {
  visits: number;
  bounce_rate: number;
  visit_duration: number;
  views_per_visit: number;
}

/**
 * The visit metrics of the visits that start in the answer's days, each rounded to 2 decimals (0 without
 * visits). Each is one division of exact integers, so equal sums give equal answers on any machine.
 */
export function visitMetrics(sums: Row['visit_sums']): VisitMetrics {
  const visits = Number(sums.visits);
  if (visits === 0) return { visits: 0, bounce_rate: 0, visit_duration: 0, views_per_visit: 0 };
  return {
    visits,
    bounce_rate: Math.round((Number(sums.bounces) * 10_000) / visits) / 100,
    visit_duration: Math.round(Number(sums.duration_us) / (visits * 10_000)) / 100,
    views_per_visit: Math.round((Number(sums.pageviews) * 100) / visits) / 100,
  };
}

/** Reads one answer from the rollups. Unknown sites answer zeros in UTC. */
export async function getStats(db: Knex, params: StatsParams): Promise<StatsResponse> {
  const values = { site: params.siteId, from: params.from, to: params.to, limit: params.limit, offset: params.offset };
  const { text, values: bound } = params.kind === 'day' ? namedSql(DAY_SQL, values) : namedSql(RANGE_SQL, values);
  const row = (await prepared<Row>(db, `stats_${params.kind}`, text, bound))[0]!;
  const figures = {
    total_views: Number(row.total_views),
    unique_users: Number(row.unique_users),
    top_paths: row.top_paths.map((p) => ({ path: p.path, views: Number(p.views) })),
    total_events: Number(row.total_events),
    event_types: row.event_types.map((t) => ({ event_type: t.event_type, events: Number(t.events) })),
  };
  const tail = {
    time_zone: row.time_zone ?? 'UTC',
    data_as_of: row.data_as_of ? row.data_as_of.toISOString() : null,
    ...visitMetrics(row.visit_sums),
  };
  if (params.kind === 'day') {
    return { site_id: params.siteId, date: params.from, ...figures, ...tail };
  }
  return { site_id: params.siteId, from: params.from, to: params.to, ...figures, timeseries: row.timeseries ?? [], ...tail };
}
