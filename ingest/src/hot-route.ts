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
  const headers = fixedHeaders('helmet', securityHeaders(), 'GET');
  // corsForBeacons allows any origin: on a POST it sets the same header whatever the request's Origin.
  const cors = fixedHeaders('cors', corsForBeacons as unknown as Middleware, 'POST');
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
    headers(res);
    deps.requestMetrics(req, res, () => {
      cors(res);
      handle(req, res);
    });
    return true;
  };
}

type HeaderStep = { name: string; value: string | number | readonly string[] } | { name: string; remove: true };

/**
 * A middleware that only sets fixed headers, as a list made once: one run against a recording response captures
 * its steps in order, and each answer replays them. Helmet's dozen middlewares (1.3 % of ingest's busy time on
 * this route) and cors's option callbacks (0.9 %) set the same names and values on every answer; neither reads the
 * request beyond its method here. Throws at start-up if the middleware does anything else with the response, ends
 * with an error or does not finish synchronously, so a dependency upgrade that changes that is noticed.
 */
function fixedHeaders(what: string, middleware: Middleware, method: string): (res: ServerResponse) => void {
  const steps: HeaderStep[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => steps.push({ name, value }),
    removeHeader: (name: string) => steps.push({ name, remove: true }),
  };
  let done = false;
  middleware({ method, headers: {} } as IncomingMessage, recorder as unknown as ServerResponse, (err) => {
    if (err) throw err;
    done = true;
  });
  if (!done) throw new Error(`${what} did not finish synchronously: its headers cannot be computed once`);
  return (res) => {
    for (const step of steps) {
      if ('remove' in step) res.removeHeader(step.name);
      else res.setHeader(step.name, step.value);
    }
  };
}
