import { rateLimit } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import { Errors } from '@sitestream/shared';
import { apiKeyOf } from './auth';
import type { ReportingMetrics } from './reporting-metrics';

/**
 * A fixed one-minute budget of requests per API key (not per address: many analysts may share a proxy, and one
 * key's traffic should not starve another's). Counted in this process's memory: each instance has its own.
 */
export function keyRateLimit(limitPerMinute: number, metrics: ReportingMetrics): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: limitPerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req, res) => `key:${apiKeyOf(req, res).id}`,
    // We key on the API key, never on the address, so proxy headers do not matter here.
    validate: { xForwardedForHeader: false },
    handler: (req, _res, next) => {
      metrics.rateLimited.inc({ limiter: 'api_key' });
      const reset = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
      next(Errors.rateLimited(seconds));
    },
  });
}
