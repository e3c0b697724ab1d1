import { Router, type Request, type RequestHandler } from 'express';
import { keyCovers, PROPS_PREFIX, queryDaysValid, type Knex } from '@sitestream/db';
import { Errors, isSafeText, LIMITS, parseCalendarDate, QUERY_API_LIMITS, type FieldError } from '@sitestream/shared';
import { apiKeyOf } from './auth';
import { answerForDbFailure } from './db-failure';
import { runStatement } from './query/run-query';
import { timed, type ReportingMetrics } from './reporting-metrics';

export interface SitesRouteDeps {
  db: Knex;
  metrics: ReportingMetrics;
  /** authenticate(), then the per-key rate and concurrency limits. */
  guards: RequestHandler[];
  /** REPORTING_KEY_MAX_CONCURRENT: told to clients so that a dashboard queues instead of collecting 429s. */
  keyMaxConcurrent: number;
}

/** A deployment-wide key lists at most this many sites (code-point order); `total` says how many there are. */
export const MAX_LISTED_SITES = 1000;
/** Property keys listed for a range, at most. */
export const MAX_PROPERTY_KEYS = 100;

// A key's own sites are listed whether or not they have data yet: the list says what the key may read, and a
// site without data answers like any other (zeros), so listing it reveals nothing a query would not.
const SITES_SQL = `
  WITH asked AS (
    SELECT s.site_id, s.time_zone FROM analytics.sites s WHERE $1::text[] IS NULL
    UNION ALL
    SELECT k.site_id, coalesce((SELECT time_zone FROM analytics.sites WHERE site_id = k.site_id), 'UTC')
    FROM unnest($1::text[]) AS k(site_id))
  SELECT site_id, time_zone, count(*) OVER () AS total FROM asked ORDER BY site_id COLLATE "C" LIMIT $2::int`;

// The site's local days [from, to] as instants; an unknown site is read in UTC, as the query API does.
// A day whose query rows are current names its keys in them (one row per key: query-rollups.ts); the other days
// (today, a stale day) read their events. Reading every event's properties took 14 s for 30 days of the bench's
// big site (15M events); the rows answer in milliseconds.
const PROPERTY_KEYS_SQL = `
  WITH z AS (SELECT coalesce((SELECT time_zone FROM analytics.sites WHERE site_id = $1::text), 'UTC') AS tz),
  days AS (SELECT g.day, ${queryDaysValid('$1::text', 'g.day', 'g.day', 'z.tz')} AS rolled
           FROM z, (SELECT d::date AS day FROM generate_series($2::date::timestamp, $3::date::timestamp, interval '1 day') d) g)
  SELECT k FROM (
    SELECT substr(q.dimension, ${PROPS_PREFIX.length + 1}) AS k
    FROM days JOIN analytics.query_daily q ON q.site_id = $1::text AND q.day = days.day
    WHERE days.rolled AND left(q.dimension, ${PROPS_PREFIX.length}) = '${PROPS_PREFIX}'
    UNION
    SELECT jsonb_object_keys(e.props)
    FROM days CROSS JOIN z JOIN analytics.website_events e ON e.site_id = $1::text
      AND e."timestamp" >= (days.day::timestamp AT TIME ZONE z.tz) AND e."timestamp" < ((days.day + 1)::timestamp AT TIME ZONE z.tz)
    WHERE NOT days.rolled AND e.props IS NOT NULL) keys
  ORDER BY k COLLATE "C" LIMIT $4::int`;

const NO_SITE = '';
const DAY_MS = 86_400_000;

/**
 * What a dashboard needs beside the query API: GET /api/v2/sites (the sites the key may read) and
 * GET /api/v2/props (the event property keys seen in a range, to offer `event:props:<key>` breakdowns).
 */
export function sitesRoutes(deps: SitesRouteDeps): Router {
  const router = Router();
  router.get('/api/v2/sites', ...deps.guards, async (req, res) => {
    refuseUnknownParams(req, []);
    const key = apiKeyOf(req, res);
    let rows;
    try {
      rows = await timed(deps.metrics, 'sites', () =>
        runStatement<{ site_id: string; time_zone: string; total: string }>(deps.db, { text: SITES_SQL, values: [key.siteIds, MAX_LISTED_SITES] }));
    } catch (err) {
      throw answerForDbFailure(err);
    }
    res.json({
      sites: rows.map((r) => ({ site_id: r.site_id, time_zone: r.time_zone })),
      total: rows.length > 0 ? Number(rows[0]!.total) : 0,
      limits: { concurrent_requests: deps.keyMaxConcurrent },
    });
  });
  router.get('/api/v2/props', ...deps.guards, async (req, res) => {
    const { siteId, from, to } = parsePropsParams(req);
    const dataSite = keyCovers(apiKeyOf(req, res), siteId) ? siteId : NO_SITE;
    let rows;
    try {
      rows = await timed(deps.metrics, 'property_keys', () =>
        runStatement<{ k: string }>(deps.db, { text: PROPERTY_KEYS_SQL, values: [dataSite, from, to, MAX_PROPERTY_KEYS] }));
    } catch (err) {
      throw answerForDbFailure(err);
    }
    res.json({ keys: rows.map((r) => r.k) });
  });
  return router;
}

function refuseUnknownParams(req: Request, known: string[]): void {
  const extra = Object.keys(req.query).filter((k) => !known.includes(k));
  if (extra.length > 0) throw Errors.invalidQuery([{ field: extra[0]!.slice(0, 64), message: 'is not a known parameter' }]);
}

function parsePropsParams(req: Request): { siteId: string; from: string; to: string } {
  refuseUnknownParams(req, ['site_id', 'from', 'to']);
  const errors: FieldError[] = [];
  const { site_id: siteId, from, to } = req.query;
  if (typeof siteId !== 'string' || siteId.length === 0 || [...siteId].length > LIMITS.site_id || !isSafeText(siteId)) {
    errors.push({ field: 'site_id', message: `is required once: 1 to ${LIMITS.site_id} characters without control characters` });
  }
  for (const [field, v] of [['from', from], ['to', to]] as const) {
    if (typeof v !== 'string' || !parseCalendarDate(v)) errors.push({ field, message: 'is required once: a real calendar date written YYYY-MM-DD' });
  }
  if (errors.length === 0) {
    const span = (Date.parse(to as string) - Date.parse(from as string)) / DAY_MS + 1;
    if (span < 1) errors.push({ field: 'to', message: 'must not be before from' });
    else if (span > QUERY_API_LIMITS.maxRangeDays) errors.push({ field: 'to', message: `must be at most ${QUERY_API_LIMITS.maxRangeDays} days after from, both included` });
  }
  if (errors.length > 0) throw Errors.invalidQuery(errors);
  return { siteId: siteId as string, from: from as string, to: to as string };
}
