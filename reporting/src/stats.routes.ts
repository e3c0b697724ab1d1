import { Router, type RequestHandler } from 'express';
import { keyCovers, type Knex } from '@sitestream/db';
import { Errors } from '@sitestream/shared';
import { apiKeyOf } from './auth';
import { answerForDbFailure } from './db-failure';
import { getStats } from './get-stats';
import { timed, type ReportingMetrics } from './reporting-metrics';
import { parseStatsParams } from './stats-params';

export interface StatsRouteDeps {
  db: Knex;
  metrics: ReportingMetrics;
  /** authenticate(), then the per-key rate limit: run before anything else looks at the request. */
  guards: RequestHandler[];
}

/** GET /stats: one day (the seed's shape) or a range of days, for a site the key may read. */
export function statsRoutes(deps: StatsRouteDeps): Router {
  const router = Router();
  router.get('/stats', ...deps.guards, async (req, res) => {
    const params = parseStatsParams(req.query as Record<string, unknown>);
    // Decided before any query, from the key alone: the answer cannot depend on whether the site exists.
    if (!keyCovers(apiKeyOf(req, res), params.siteId)) throw Errors.siteNotFound();
    try {
      res.json(await timed(deps.metrics, params.kind === 'day' ? 'stats_day' : 'stats_range', () => getStats(deps.db, params)));
    } catch (err) {
      throw answerForDbFailure(err);
    }
  });
  return router;
}
