import { Router, type RequestHandler } from 'express';
import { keyCovers, type Knex } from '@sitestream/db';
import { Errors } from '@sitestream/shared';
import { apiKeyOf } from './auth';
import { cancellable } from './cancellable-query';
import { answerForDbFailure } from './db-failure';
import { getStats } from './get-stats';
import type { RangeGate } from './query-limits';
import { timed, type ReportingMetrics } from './reporting-metrics';
import { parseStatsParams } from './stats-params';

export interface StatsRouteDeps {
  db: Knex;
  /** For cancelling the query of a client that disconnected (over a connection outside the pool). */
  databaseUrl: string;
  ranges: RangeGate;
  metrics: ReportingMetrics;
  /** authenticate(), then the per-key rate and concurrency limits: run before anything else looks at the request. */
  guards: RequestHandler[];
}

/** GET /stats: one day (the seed's shape) or a range of days, for a site the key may read. */
export function statsRoutes(deps: StatsRouteDeps): Router {
  const router = Router();
  router.get('/stats', ...deps.guards, async (req, res) => {
    const params = parseStatsParams(req.query as Record<string, unknown>);
    // Decided before any query, from the key alone: the answer cannot depend on whether the site exists.
    if (!keyCovers(apiKeyOf(req, res), params.siteId)) throw Errors.siteNotFound();
    const isRange = params.kind === 'range';
    if (isRange && !deps.ranges.tryEnter()) {
      deps.metrics.rateLimited.inc({ limiter: 'range_concurrency' });
      throw Errors.busy(1);
    }
    // A client that disconnects stops its query: nobody would read the answer.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    try {
      const stats = await timed(deps.metrics, isRange ? 'stats_range' : 'stats_day', () =>
        cancellable(deps.db, deps.databaseUrl, gone.signal, (db) => getStats(db, params)),
      );
      res.json(stats);
    } catch (err) {
      if (gone.signal.aborted) return;
      throw answerForDbFailure(err);
    } finally {
      if (isRange) deps.ranges.leave();
    }
  });
  return router;
}
