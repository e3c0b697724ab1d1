import type { Request, RequestHandler, Response } from 'express';
import { checkApiKey, type ApiKey, type Knex } from '@sitestream/db';
import { Errors } from '@sitestream/shared';
import type { AuthFailureCounter, KnownKeys } from './auth-failures';
import { timed, type AuthFailureReason, type ReportingMetrics } from './reporting-metrics';

export interface AuthDeps {
  db: Knex;
  metrics: ReportingMetrics;
  failures: AuthFailureCounter;
  known: KnownKeys;
}

/** The public part of a key (`ss_live_` and 8 characters), as `keys list` shows it. */
const PREFIX_LENGTH = 16;

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * `Authorization: Bearer <key>` on every request it guards. Whatever is wrong — no header, another scheme,
 * an unknown, revoked or expired key — the answer is the same 401, and so is the metric's reason (`rejected`)
 * for the last three. The key itself is never logged (pino redacts the header) nor echoed.
 * The failure limit applies to key lookups only (see AuthFailureCounter): it cannot lock out a valid key.
 */
export function authenticate(deps: AuthDeps): RequestHandler {
  return async (req, res, next) => {
    const client = req.ip ?? 'unknown';
    const refuse = (reason: AuthFailureReason, counted: boolean): never => {
      deps.metrics.authFailures.inc({ reason });
      if (counted) deps.failures.recordFailure(client);
      res.set('WWW-Authenticate', 'Bearer realm="sitestream"');
      throw Errors.unauthorized();
    };
    const header = req.headers.authorization;
    if (header === undefined) return refuse('missing', false);
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) return refuse('malformed', false);
    const prefix = token.slice(0, PREFIX_LENGTH);
    const wait = deps.failures.blockedFor(client);
    if (wait > 0 && !deps.known.has(prefix)) {
      deps.metrics.rateLimited.inc({ limiter: 'auth_failures' });
      throw Errors.rateLimited(wait);
    }
    let check;
    try {
      check = await timed(deps.metrics, 'api_key', () => checkApiKey(deps.db, token));
    } catch (err) {
      throw Errors.databaseUnavailable(err);
    }
    // A malformed token cost no query; the others did, and are told apart nowhere (the metric included).
    if (!check.ok) return check.reason === 'malformed' ? refuse('malformed', false) : refuse('rejected', true);
    deps.known.add(prefix);
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
