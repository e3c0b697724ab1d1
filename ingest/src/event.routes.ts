import cors from 'cors';
import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { jsonBody } from './body';
import type { RequestFacts } from './enrich/enricher';
import type { Answer, EventIntake } from './event-intake';
import type { BodyBudget } from './read-body';

/** CORS for the tracker's beacons: any origin may POST JSON (or text/plain) events. */
export const corsForBeacons = cors({ origin: '*', methods: ['POST'], allowedHeaders: ['Content-Type'], maxAge: 86400 });

/**
 * POST /event (one event) and POST /events (a batch with per-item results) through Express. The plain
 * `POST /event` is answered by the hot route (hot-route.ts) before Express; this router serves every other
 * spelling of it (a query string, a trailing slash…), the batches and the CORS preflight.
 */
export function eventRoutes(intake: EventIntake, limitBytes: number, budget: BodyBudget): Router {
  const router = Router();
  const readJson = jsonBody(limitBytes, budget);
  router.options(['/event', '/events'], corsForBeacons);
  router.post('/event', corsForBeacons, ...readJson, async (req, res) => {
    answer(res, await intake.single(req.body, requestFacts(req)));
  });
  router.post('/events', corsForBeacons, ...readJson, async (req, res) => {
    answer(res, await intake.batch(req.body, requestFacts(req)));
  });
  const countRefusal: ErrorRequestHandler = (err, req, _res, next) => {
    next(intake.refused(req.baseUrl === '/events' ? '/events' : '/event', err));
  };
  router.use(['/event', '/events'], countRefusal);
  return router;
}

function answer(res: Response, a: Answer): void {
  if (a.retryAfterSeconds !== undefined) res.set('Retry-After', String(a.retryAfterSeconds));
  res.status(a.status).json(a.body);
}

function requestFacts(req: Request): RequestFacts {
  return { ip: req.ip, userAgent: req.get('user-agent') };
}
