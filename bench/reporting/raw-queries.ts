import pg from 'pg';
import { elapsed } from './lib/measure';

/**
 * The seed's /stats: three queries over the raw table with DATE("timestamp") = day, run one after the other as
 * the old service did. DATE() of a timestamptz follows the session's TimeZone: UTC here, as the big site's.
 */
const SEED_QUERIES = [
  `SELECT COUNT(*) FROM analytics.website_events WHERE site_id = $1 AND event_type = 'page_view' AND DATE("timestamp") = $2`,
  `SELECT COUNT(DISTINCT user_id) FROM analytics.website_events WHERE site_id = $1 AND DATE("timestamp") = $2`,
  `SELECT path, COUNT(*) AS views FROM analytics.website_events
   WHERE site_id = $1 AND event_type = 'page_view' AND DATE("timestamp") = $2
   GROUP BY path ORDER BY views DESC LIMIT 10`,
];

export interface RawTiming {
  /** Milliseconds for the three queries of one /stats, per run. */
  runs: number[];
  /** The seed's answer for the first day, to check /stats against. */
  first: { totalViews: number; uniqueUsers: number; topPaths: { path: string; views: number }[] };
}

export async function timeSeedQueries(url: string, site: string, days: string[]): Promise<RawTiming> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET TimeZone = 'UTC'");
    const runs: number[] = [];
    let first: RawTiming['first'] | undefined;
    for (const day of days) {
      const started = process.hrtime.bigint();
      const [views, users, top] = [await client.query(SEED_QUERIES[0]!, [site, day]), await client.query(SEED_QUERIES[1]!, [site, day]), await client.query(SEED_QUERIES[2]!, [site, day])];
      runs.push(elapsed(started));
      first ??= {
        totalViews: Number(views.rows[0].count),
        uniqueUsers: Number(users.rows[0].count),
        topPaths: top.rows.map((r: { path: string; views: string }) => ({ path: r.path, views: Number(r.views) })),
      };
    }
    return { runs, first: first! };
  } finally {
    await client.end();
  }
}
