import type { Request, RequestHandler, Response } from 'express';
import { checkApiKey, type ApiKey, type Knex } from '@sitestream/db';
import { Errors } from '@sitestream/shared';
import type { AuthFailureCounter } from './auth-failures';
import { timed, type AuthFailureReason, type ReportingMetrics } from './reporting-metrics';

export interface AuthDeps {
  db: Knex;
  metrics: ReportingMetrics;
  failures: AuthFailureCounter;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * `Authorization: Bearer <key>` on every request it guards. Whatever is wrong — no header, another scheme,
 * an unknown, revoked or expired key — the answer is the same 401; only the metric says which. The key
 * itself is never logged (pino redacts the header) nor echoed.
 */
export function authenticate(deps: AuthDeps): RequestHandler {
  return async (req, res, next) => {
    const client = req.ip ?? 'unknown';
    const wait = deps.failures.blockedFor(client);
    if (wait > 0) {
      deps.metrics.rateLimited.inc({ limiter: 'auth_failures' });
      throw Errors.rateLimited(wait);
    }
    const refuse = (reason: AuthFailureReason): never => {
      deps.metrics.authFailures.inc({ reason });
      deps.failures.recordFailure(client);
      res.set('WWW-Authenticate', 'Bearer realm="sitestream"');
      throw Errors.unauthorized();
    };
    const header = req.headers.authorization;
    if (header === undefined) return refuse('missing');
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) return refuse('malformed');
    let check;
    try {
      check = await timed(deps.metrics, 'api_key', () => checkApiKey(deps.db, token));
    } catch (err) {
      throw Errors.databaseUnavailable(err);
    }
    if (!check.ok) return refuse(check.reason);
    res.locals.apiKey = check.key;
    next();
  };
}

/** The key `authenticate` accepted for this request. */
export function apiKeyOf(req: Request, res: Response): ApiKey {
  const key = res.locals.apiKey as ApiKey | undefined;
  if (!key) throw new Error(`${req.method} ${req.path} is not behind authenticate()`);
  return key;
}
