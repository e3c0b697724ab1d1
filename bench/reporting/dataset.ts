import type { Knex } from '@sitestream/db';

/**
 * A realistic dataset written straight into analytics.website_events (no Kafka: the point is the size),
 * generated inside PostgreSQL from generate_series, one day per transaction (an interrupted generation resumes at
 * the first missing day). Visits are generated first, then their events:
 * - one big site (`big-site`, UTC) with ~500k events a day, 1,000 small sites (busier and quieter ones, every
 *   tenth in Asia/Kolkata);
 * - a visitor pool with skewed popularity (user ~ pool·u²: a few regulars, a long tail), several visits a day for
 *   the regulars; visit starts follow a day/night curve;
 * - per visit: 45% bounce (one event), else 2 + geometric(mean 3.5) events, gaps between events log-normal
 *   (median 20 s, heavy tail), a visit lasting at most 9 minutes; a visitor's visits start in distinct hours,
 *   within the hour's first 20 minutes, so two visits of one visitor are always more than 30 minutes apart;
 * - per visit: source/referrer (Direct 38%, Google 30%, social, search, a long tail of referring blogs), UTMs on
 *   15% (campaigns skewed), hostname (www/blog/shop), entry page; per visitor (fixed, from a hash of its id):
 *   country, browser, OS, device; every event of a visit carries its visit's context (as one page load's context
 *   would be carried by the events it sends);
 * - per event: 80% page_view, 12% click, 5% scroll, 1.5% signup (props {"plan"}), 1.5% download; paths skewed
 *   (~800 blog posts with props {"author"}, ~4,000 other pages; the first event is the entry page).
 */
export interface DatasetSpec {
  days: number;
  /** Big-site visits generated per day, before removing a visitor's second visit in the same hour. */
  bigVisits: number;
  smallVisits: number;
  smallSites: number;
  bigUsers: number;
  smallUsers: number;
  firstDay: string;
}

export const BIG_SITE = 'big-site';
const VERSION = 3;

export function datasetSpec(events: number): DatasetSpec {
  // 10m: 30 days of ~500k big-site events (+ ~50k on the small sites) a day, ~16M events in all: the issue asks
  // for a site with 500k events a day, and its 30-day ranges need 30 days. 1m: 2 days of the same shape.
  const days = events >= 10_000_000 ? 30 : events >= 1_000_000 ? 2 : 1;
  return { days, bigVisits: 147_000, smallVisits: 15_000, smallSites: 1000, bigUsers: 2_000_000, smallUsers: 20_000, firstDay: '2025-10-01' };
}

export function dayOf(spec: DatasetSpec, i: number): string {
  return new Date(Date.parse(spec.firstDay) + i * 86_400_000).toISOString().slice(0, 10);
}

const specJson = (spec: DatasetSpec) => JSON.stringify({ ...spec, version: VERSION });

async function ensureTables(db: Knex): Promise<void> {
  await db.raw('CREATE SCHEMA IF NOT EXISTS bench');
  await db.raw('CREATE TABLE IF NOT EXISTS bench.dataset (spec JSONB NOT NULL, generated_at TIMESTAMPTZ NOT NULL DEFAULT now())');
  await db.raw('CREATE TABLE IF NOT EXISTS bench.dataset_days (day DATE PRIMARY KEY, events BIGINT NOT NULL, seconds REAL NOT NULL)');
}

/** True when the database already holds exactly this dataset, every day of it (so a re-run skips the generation). */
export async function hasDataset(db: Knex, spec: DatasetSpec): Promise<boolean> {
  await ensureTables(db);
  const rows = await db.raw<{ rows: { same: boolean; days: number }[] }>(
    'SELECT spec = ?::jsonb AS same, (SELECT count(*) FROM bench.dataset_days)::int AS days FROM bench.dataset',
    [specJson(spec)],
  );
  return rows.rows.length === 1 && rows.rows[0]!.same && rows.rows[0]!.days === spec.days;
}

// Weighted picks: width_bucket(r, cumulative thresholds) is the 1-based index of the bucket r falls in.
const pick = (r: string, items: (string | null)[], weights: number[]): string => {
  let sum = 0;
  const thresholds = weights.map((w) => ((sum += w), sum - w));
  const total = sum;
  return `(ARRAY[${items.map((i) => (i === null ? 'NULL' : `'${i}'`)).join(',')}]::text[])[width_bucket(${r} * ${total}, ARRAY[${thresholds.join(',')}]::float8[])]`;
};
/** A uniform number in [0, 1) fixed per visitor (and per salt): its country or browser never changes. */
const perUser = (salt: string) => `((hashtext(user_id || '${salt}')::bigint + 2147483648) / 4294967296.0)`;

const SOURCES = ['Direct', 'Google', 'Bing', 'DuckDuckGo', 'Facebook', 'Twitter', 'LinkedIn', 'Reddit', 'Hacker News', 'GitHub', 'Newsletter', 'tail'];
const SOURCE_WEIGHTS = [38, 30, 4, 3, 6, 3, 2, 3, 2, 2, 4, 3];
const REFERRER_OF: Record<string, string> = {
  Google: `'https://www.google.com/'`, Bing: `'https://www.bing.com/'`, DuckDuckGo: `'https://duckduckgo.com/'`,
  Facebook: `'https://www.facebook.com/'`, Twitter: `'https://t.co/' || substr(md5(g::text), 1, 8)`, LinkedIn: `'https://www.linkedin.com/'`,
  Reddit: `'https://www.reddit.com/r/' || (ARRAY['programming','webdev','analytics','selfhosted'])[1 + (g % 4)]`,
  'Hacker News': `'https://news.ycombinator.com/item-' || (4000000 + g % 50)`, GitHub: `'https://github.com/'`,
  Newsletter: 'NULL', tail: `'https://' || tail_host || '/post-' || (g % 20)`,
};

/** One day of visits and their events for every site, in the caller's transaction; returns the events written. */
async function generateDay(trx: Knex.Transaction, spec: DatasetSpec, day: string): Promise<number> {
  const source = `CASE source_pick ${SOURCES.map((s) => `WHEN '${s}' THEN ${s === 'Direct' ? 'NULL' : s === 'tail' ? 'tail_host' : `'${s}'`}`).join(' ')} END`;
  const referrer = `CASE source_pick ${Object.entries(REFERRER_OF).map(([s, r]) => `WHEN '${s}' THEN ${r}`).join(' ')} END`;
  const countries = ['US', 'DE', 'GB', 'FR', 'IN', 'CA', 'BR', 'NL', 'JP', 'ES', 'IT', 'PL', 'SE', 'AU', 'MX', 'KR', 'CH', 'AT', 'BE', 'NO', null];
  const countryWeights = [30, 10, 8, 6, 7, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1];
  const result = await trx.raw<{ rowCount: number }>(
    `WITH cand AS (
       SELECT g, site, 'u' || floor(CASE WHEN site = :big::text THEN :bigUsers::int ELSE :smallUsers::int END * random() ^ 2)::int AS user_id,
              -- Day/night: half the visits start in the 12 daytime hours 08–19.
              CASE WHEN random() < 0.5 THEN 8 + floor(12 * random()) ELSE floor(24 * random()) END::int AS hour
       FROM (SELECT g, CASE WHEN g <= :bigVisits::int THEN :big::text ELSE 'site-' || lpad(floor(:smallSites::int * random() ^ 2)::int::text, 4, '0') END AS site
             FROM generate_series(1, :allVisits::int) g) s
     ),
     visits AS MATERIALIZED (
       SELECT DISTINCT ON (site, user_id, hour) g, site, user_id,
              (:day::date)::timestamp AT TIME ZONE 'UTC' + hour * interval '1 hour' + random() * interval '20 minutes' AS start,
              CASE WHEN random() < 0.45 THEN 1 ELSE least(40, 2 + floor(-ln(1 - random()) * 4)::int) END AS n,
              ${pick('random()', SOURCES, SOURCE_WEIGHTS)} AS source_pick,
              'blog' || floor(300 * random() ^ 2)::int || '.example' AS tail_host,
              random() < 0.15 AS tagged, random() AS r_utm, random() AS r_term, random() AS r_content, random() AS r_host,
              CASE WHEN random() < 0.25 THEN '/' WHEN random() < 0.4 THEN '/blog/post-' || floor(800 * random() ^ 2)::int
                   ELSE '/p/' || floor(4000 * random() ^ 3)::int END AS entry,
              ${pick(perUser('c'), countries, countryWeights)} AS country,
              ${pick(perUser('b'), ['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet', 'Opera', null], [63, 20, 6, 5, 3, 2, 1])} AS browser,
              ${pick(perUser('d'), ['desktop', 'mobile', 'tablet'], [45, 52, 3])} AS device, ${perUser('o')} AS r_os
       FROM cand ORDER BY site, user_id, hour, g
     ),
     steps AS (
       SELECT v.*, k, random() AS r_type, random() AS r_path, random() AS r_prop,
              -- Log-normal gap (median 20 s), from a Box–Muller normal.
              CASE WHEN k = 1 THEN 0 ELSE exp(ln(20) + 1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) END AS gap
       FROM visits v, LATERAL generate_series(1, v.n) k
     ),
     events AS (
       SELECT s.*, sum(gap) OVER (PARTITION BY g ORDER BY k) AS offset_s,
              CASE WHEN k = 1 OR r_type < 0.80 THEN 'page_view' WHEN r_type < 0.92 THEN 'click' WHEN r_type < 0.97 THEN 'scroll'
                   WHEN r_type < 0.985 THEN 'signup' ELSE 'download' END AS event_type,
              CASE WHEN k = 1 THEN entry WHEN r_path < 0.3 THEN '/blog/post-' || floor(800 * random() ^ 2)::int
                   ELSE '/p/' || floor(4000 * random() ^ 3)::int END AS path
       FROM steps s
     )
     INSERT INTO analytics.website_events
       (site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset,
        hostname, referrer, source, utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, os, device, country, props)
     SELECT site, event_type, path, user_id, ts, gen_random_uuid(), ts + interval '1 second', abs(hashtext(site)) % 6, g * 64 + k,
            CASE WHEN site <> :big::text THEN site || '.example' WHEN r_host < 0.9 THEN 'www.big-site.example' WHEN r_host < 0.98 THEN 'blog.big-site.example' ELSE 'shop.big-site.example' END,
            ${referrer}, ${source},
            CASE WHEN source_pick = 'Newsletter' THEN 'newsletter' WHEN tagged THEN ${pick('r_utm', ['google', 'facebook', 'twitter', 'partner-a', 'partner-b', 'bing'], [40, 20, 10, 10, 10, 10])} END,
            CASE WHEN source_pick = 'Newsletter' THEN 'email' WHEN tagged THEN ${pick('r_utm', ['cpc', 'social', 'social', 'referral', 'referral', 'cpc'], [40, 20, 10, 10, 10, 10])} END,
            CASE WHEN source_pick = 'Newsletter' THEN 'issue-' || (g % 12) WHEN tagged THEN 'campaign-' || floor(40 * r_term ^ 2)::int END,
            CASE WHEN tagged AND r_term < 0.3 THEN 'term-' || floor(100 * r_content ^ 2)::int END,
            CASE WHEN tagged AND r_content < 0.4 THEN 'content-' || floor(10 * r_term)::int END,
            browser,
            CASE device WHEN 'desktop' THEN ${pick('r_os', ['Windows', 'Mac OS', 'Linux'], [70, 25, 5])}
                        WHEN 'mobile' THEN ${pick('r_os', ['Android', 'iOS'], [60, 40])} ELSE ${pick('r_os', ['iOS', 'Android'], [70, 30])} END,
            device, country,
            CASE WHEN event_type = 'signup' THEN jsonb_build_object('plan', ${pick('r_prop', ['free', 'pro', 'team'], [70, 22, 8])})
                 WHEN event_type = 'page_view' AND path LIKE '/blog/%' THEN jsonb_build_object('author', 'author-' || floor(20 * r_prop ^ 2)::int) END
     FROM (SELECT e.*, start + least(offset_s, 539 + k / 100.0) * interval '1 second' AS ts FROM events e) x`,
    { big: BIG_SITE, bigUsers: spec.bigUsers, smallUsers: spec.smallUsers, bigVisits: spec.bigVisits, smallSites: spec.smallSites, allVisits: spec.bigVisits + spec.smallVisits, day },
  );
  return result.rowCount;
}

/**
 * Generates the days still missing (all of them after a spec change), one transaction per day, until `budgetS`
 * seconds have passed; answers whether the dataset is complete.
 */
export async function generateDataset(db: Knex, spec: DatasetSpec, log: (line: string) => void, budgetS = Infinity): Promise<boolean> {
  await ensureTables(db);
  const current = await db.raw<{ rows: { same: boolean }[] }>('SELECT spec = ?::jsonb AS same FROM bench.dataset', [specJson(spec)]);
  if (current.rows.length !== 1 || !current.rows[0]!.same) {
    log('  new dataset: truncating the tables');
    await db.raw(
      'TRUNCATE analytics.website_events, analytics.daily_event_counts, analytics.daily_path_views, analytics.daily_users, analytics.daily_user_counts, analytics.visits, analytics.daily_visits, analytics.partition_watermarks, analytics.sites, bench.dataset, bench.dataset_days',
    );
    await db.raw('INSERT INTO bench.dataset (spec) VALUES (?::jsonb)', [specJson(spec)]);
  }
  const started = Date.now();
  for (let i = 0; i < spec.days; i++) {
    const day = dayOf(spec, i);
    if ((await db.raw<{ rows: unknown[] }>('SELECT 1 FROM bench.dataset_days WHERE day = ?', [day])).rows.length > 0) continue;
    if ((Date.now() - started) / 1000 > budgetS) {
      log(`  time budget of ${budgetS} s used: stopping before ${day} (run again to resume)`);
      return false;
    }
    const dayStarted = Date.now();
    const events = await db.transaction(async (trx) => {
      await trx.raw('SET LOCAL synchronous_commit = off');
      const n = await generateDay(trx, spec, day);
      await trx.raw('INSERT INTO bench.dataset_days (day, events, seconds) VALUES (?, ?, ?)', [day, n, (Date.now() - dayStarted) / 1000]);
      return n;
    });
    log(`  day ${day}: ${events} events in ${((Date.now() - dayStarted) / 1000).toFixed(1)} s`);
  }
  await db.transaction(async (trx) => {
    // A tenth of the small sites keep their days in India: rollups in several zones, as in production.
    await trx.raw('DELETE FROM analytics.sites');
    await trx.raw(
      `INSERT INTO analytics.sites (site_id, time_zone)
       SELECT 'site-' || lpad(k::text, 4, '0'), 'Asia/Kolkata' FROM generate_series(0, ?::int - 1, 10) k`,
      [spec.smallSites],
    );
    // What the consumer would have recorded: data_as_of is part of every answer.
    await trx.raw('DELETE FROM analytics.partition_watermarks');
    await trx.raw(
      `INSERT INTO analytics.partition_watermarks (kafka_partition, max_received_at)
       SELECT kafka_partition, max(received_at) FROM analytics.website_events GROUP BY 1`,
    );
  });
  return true;
}
