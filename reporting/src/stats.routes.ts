import { Router, type RequestHandler } from 'express';
import { isTransientDbError, keyCovers, type Knex } from '@sitestream/db';
import { AppError, Errors } from '@sitestream/shared';
import { apiKeyOf } from './auth';
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
      if (err instanceof AppError) throw err;
      // 57014: statement_timeout. A range too long for the timeout is the client's to shorten.
      if ((err as { code?: string }).code === '57014') throw Errors.queryTimeout(err);
      // A lost connection is worth a retry; any other failure is a bug, answered 500 and logged.
      throw isTransientDbError(err) ? Errors.databaseUnavailable(err) : Errors.internal(err);
    }
  });
  return router;
}
