import express, { Router, type RequestHandler } from 'express';
import { keyCovers, type Knex } from '@sitestream/db';
import { Errors, isSafeText, LIMITS } from '@sitestream/shared';
import { apiKeyOf } from '../auth';
import { cancellable } from '../cancellable-query';
import { answerForDbFailure } from '../db-failure';
import type { RangeGate } from '../query-limits';
import { timed, type ReportingMetrics } from '../reporting-metrics';
import { parseQueryParams } from './query-params';
import { runQuery, runStatement, toCsv } from './run-query';

export interface QueryRouteDeps {
  db: Knex;
  /** For cancelling the query of a client that disconnected (over a connection outside the pool). */
  databaseUrl: string;
  /** Shared with /stats ranges: queries over more than one day hold at most this many connections at once. */
  ranges: RangeGate;
  metrics: ReportingMetrics;
  /** authenticate(), then the per-key rate limit. */
  guards: RequestHandler[];
}

// No site has an empty id (ingest and every parameter refuse one): reading it is reading a site without data,
// so a site outside the key's scope answers exactly like that, whether or not it exists.
const NO_SITE = '';

const REALTIME_SQL = `
  SELECT (SELECT count(DISTINCT user_id) FROM analytics.website_events
          WHERE site_id = $1::text AND "timestamp" >= now() - interval '5 minutes') AS visitors,
         (SELECT min(max_received_at) FROM analytics.partition_watermarks) AS data_as_of`;

/** POST /api/v2/query (metrics × dimensions × filters) and GET /api/v2/realtime. */
export function queryRoutes(deps: QueryRouteDeps): Router {
  const router = Router();
  const json = express.json({ limit: '64kb', type: () => true });
  router.post('/api/v2/query', ...deps.guards, json, async (req, res) => {
    const q = parseQueryParams(req.body);
    const dataSite = keyCovers(apiKeyOf(req, res), q.siteId) ? q.siteId : NO_SITE;
    // One day (as /stats' one-day requests) is not gated; anything longer may read many days and waits its turn.
    const oneDay = q.dateRange === 'day' || (typeof q.dateRange === 'object' && q.dateRange.from === q.dateRange.to);
    if (!oneDay && !deps.ranges.tryEnter()) {
      deps.metrics.rateLimited.inc({ limiter: 'range_concurrency' });
      throw Errors.busy(1);
    }
    // A client that disconnects stops its query: nobody would read the answer.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    let answer;
    try {
      const read = await timed(deps.metrics, 'query_v2', () => cancellable(deps.db, deps.databaseUrl, gone.signal, (db) => runQuery(db, q, dataSite)));
      answer = read.answer;
      // Which tables answered: for operators and tests, not part of the answer.
      res.setHeader('Sitestream-Query-Plan', read.plan);
    } catch (err) {
      if (gone.signal.aborted) return;
      throw answerForDbFailure(err);
    } finally {
      if (!oneDay) deps.ranges.leave();
    }
    if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
      res.type('text/csv; charset=utf-8').send(toCsv(q, answer));
    } else {
      res.json(answer);
    }
  });
  router.get('/api/v2/realtime', ...deps.guards, async (req, res) => {
    const siteId = req.query.site_id;
    const extra = Object.keys(req.query).filter((k) => k !== 'site_id');
    if (typeof siteId !== 'string' || siteId.length === 0 || [...siteId].length > LIMITS.site_id || !isSafeText(siteId) || extra.length > 0) {
      throw Errors.invalidQuery(extra.length > 0
        ? [{ field: extra[0]!.slice(0, 64), message: 'is not a known parameter' }]
        : [{ field: 'site_id', message: `is required once: 1 to ${LIMITS.site_id} characters without control characters` }]);
    }
    const dataSite = keyCovers(apiKeyOf(req, res), siteId) ? siteId : NO_SITE;
    let row;
    try {
      [row] = await timed(deps.metrics, 'realtime', () =>
        runStatement<{ visitors: string; data_as_of: Date | null }>(deps.db, { text: REALTIME_SQL, values: [dataSite] }));
    } catch (err) {
      throw answerForDbFailure(err);
    }
    res.json({ visitors: Number(row!.visitors), data_as_of: row!.data_as_of ? row!.data_as_of.toISOString() : null });
  });
  return router;
}
