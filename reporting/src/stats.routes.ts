import { Router } from 'express';
import { Errors, type Knex } from '@sitestream/shared';
import { getStats } from './get-stats';
import { parseStatsParams } from './stats-params';

export function statsRoutes(deps: { db: Knex }): Router {
  const router = Router();
  router.get('/stats', async (req, res) => {
    const params = parseStatsParams(req.query as Record<string, unknown>);
    try {
      res.json(await getStats(deps.db, params));
    } catch (err) {
      throw Errors.databaseUnavailable(err);
    }
  });
  return router;
}
