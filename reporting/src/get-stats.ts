import { utcDayRange, type Knex } from '@sitestream/shared';
import type { StatsParams } from './stats-params';

export interface StatsResponse {
  site_id: string;
  date: string;
  total_views: number;
  unique_users: number;
  top_paths: { path: string; views: number }[];
}

const TOP_PATHS = 10;

/**
 * The seed's three figures for one site and one UTC calendar day. The day is a half-open range of instants
 * computed here, so the database session's time zone cannot move day boundaries.
 */
export async function getStats(db: Knex, params: StatsParams): Promise<StatsResponse> {
  const { start, end } = utcDayRange(params.date);
  const where = `site_id = ? AND "timestamp" >= ?::timestamptz AND "timestamp" < ?::timestamptz`;
  const bindings = [params.siteId, start, end];
  const [totals, top] = await Promise.all([
    db.raw<{ rows: { total_views: number; unique_users: number }[] }>(
      `SELECT count(*) FILTER (WHERE event_type = 'page_view') AS total_views,
              count(DISTINCT user_id) AS unique_users
       FROM analytics.website_events WHERE ${where}`,
      bindings,
    ),
    // Ties are broken by path in code point order (COLLATE "C" compares UTF-8 bytes), independent of locale.
    db.raw<{ rows: { path: string; views: number }[] }>(
      `SELECT path, count(*) AS views
       FROM analytics.website_events WHERE ${where} AND event_type = 'page_view'
       GROUP BY path ORDER BY views DESC, path COLLATE "C" ASC LIMIT ${TOP_PATHS}`,
      bindings,
    ),
  ]);
  const row = totals.rows[0];
  return {
    site_id: params.siteId,
    date: params.dateText,
    total_views: row?.total_views ?? 0,
    unique_users: row?.unique_users ?? 0,
    top_paths: top.rows.map((r) => ({ path: r.path, views: r.views })),
  };
}
