import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { securityHeaders, sendError, sendJson, type Logger } from '@sitestream/shared';
import { contentTypeProblem, parseJsonBody } from './body';
import type { EventIntake } from './event-intake';
import { corsForBeacons } from './event.routes';
import { readBody, type BodyBudget } from './read-body';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface HotRouteDeps {
  intake: EventIntake;
  limitBytes: number;
  budget: BodyBudget;
  /** The Express app's compiled `trust proxy` function, so the client address is resolved exactly as req.ip. */
  trustProxy: (address: string, hop: number) => boolean;
  /** The app's request metrics middleware (shared/http.ts requestMetrics), so this route is counted alike. */
  requestMetrics: Middleware;
  logger: Logger;
}

/**
 * `POST /event`, byte for byte as Express would answer it, without Express: on this route Express's prototype
 * swap of req/res, its router and the promise wrapping of every layer cost more CPU than validating the event
 * (BENCHMARKS.md, "Ingest hot path"). The same steps run in the same order: security headers, request metrics,
 * CORS, content type, body (budget, limits, decompression), JSON, then the intake and the one error answer.
 * Returns false for anything else (another method, a query string, a trailing slash…), which Express serves.
 */
export function hotEventRoute(deps: HotRouteDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const headers = securityHeaders();
  const cors = corsForBeacons as unknown as Middleware;
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => sendError(deps.intake.refused('/event', err), req, res, deps.logger);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const problem = contentTypeProblem(req.headers['content-type']);
    if (problem) return fail(req, res, problem);
    readBody(req, deps.limitBytes, deps.budget).then(
      (buf) => {
        let body: unknown;
        try {
          body = parseJsonBody(buf);
        } catch (err) {
          return fail(req, res, err);
        }
        deps.intake
          .single(body, { ip: proxyaddr(req, deps.trustProxy), userAgent: req.headers['user-agent'] })
          .then((a) => sendJson(res, a.status, a.body), (err: unknown) => fail(req, res, err));
      },
      (err: unknown) => {
        // The client may still be sending: answer, then close rather than read the rest.
        res.setHeader('Connection', 'close');
        fail(req, res, err);
      },
    );
  };
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/event') return false;
    // What requestMetrics labels the request with (Express sets req.route on a matched route).
    (req as IncomingMessage & { route?: { path: string } }).route = { path: '/event' };
    headers(req, res, () => deps.requestMetrics(req, res, () => cors(req, res, (err) => (err ? fail(req, res, err) : handle(req, res)))));
    return true;
  };
}
