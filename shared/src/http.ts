import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Histogram, type Registry } from 'prom-client';
import { AppError, Errors } from './errors';
import type { Config } from './config';
import type { Component, Lifecycle } from './lifecycle';
import type { Logger } from './logger';

/** An Express app with the defaults every Sitestream API shares. Listening is the caller's job. */
export function createBaseApp(options: { trustProxyHops: number }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // A hop count, never `true`: `true` lets any client pick its own address through X-Forwarded-For.
  app.set('trust proxy', options.trustProxyHops);
  app.use(securityHeaders());
  return app;
}

/** Helmet's headers as every Sitestream answer carries them (a plain Node middleware: also used outside Express). */
export function securityHeaders(): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return helmet({ contentSecurityPolicy: false, crossOriginResourcePolicy: { policy: 'cross-origin' } });
}

/**
 * /healthz (the process is alive) and /readyz (every component can serve) on every listener; /metrics
 * (Prometheus) only where `metrics` is set: the management listener, never a public port (metrics show versions,
 * traffic and refusals that the public answers deliberately keep to themselves).
 */
export function mountOpsRoutes(app: Express, lifecycle: Lifecycle, registry: Registry, options: { metrics: boolean }): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const readiness = await lifecycle.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  if (options.metrics) {
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
}

/**
 * The management listener of a public service: /metrics, /healthz, /readyz on MANAGEMENT_HOST (loopback by
 * default) and the service's own management port. Closed last, so metrics stay readable during shutdown.
 */
export async function startManagementListener(
  config: HttpLimits & Pick<Config, 'MANAGEMENT_HOST' | 'TRUST_PROXY_HOPS'>,
  port: number,
  lifecycle: Lifecycle,
  registry: Registry,
  logger: Logger,
): Promise<{ url: string; component: Component }> {
  const app = createBaseApp({ trustProxyHops: config.TRUST_PROXY_HOPS });
  mountOpsRoutes(app, lifecycle, registry, { metrics: true });
  finishApp(app, logger);
  const server = await listen(app, port, config.MANAGEMENT_HOST, config);
  return { url: serverUrl(server), component: serverComponent('management', server) };
}

/** JSON 404 and the one error handler: AppErrors become their status and body; anything else is a 500. */
export function finishApp(app: Express, logger: Logger): void {
  const notFound: RequestHandler = (_req, _res, next) => next(Errors.notFound());
  const onError: ErrorRequestHandler = (err, req, res, _next) => sendError(err, req, res, logger);
  app.use(notFound);
  app.use(onError);
}

/**
 * The one error answer, on plain Node objects (so a route served outside Express answers exactly alike): the
 * AppError's status, Retry-After when it has one, and its JSON body.
 */
export function sendError(err: unknown, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  const appError = toAppError(err);
  if (appError.status >= 500 && !appError.retriable) {
    // The path only, never the query string: query strings carry site ids, keys by mistake, user data.
    logger.error({ err, method: req.method, path: (req.url ?? '').split('?')[0] }, 'request failed');
  }
  if (appError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(appError.retryAfterSeconds));
  if (res.headersSent) return;
  sendJson(res, appError.status, appError.toJSON());
}

/** A JSON answer as Express's res.status(s).json(body) writes it, on a plain Node response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Maps errors thrown by body parsing and libraries onto the catalog. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  switch (e.type) {
    case 'entity.too.large':
      return Errors.bodyTooLarge(e.limit ?? 0);
    case 'entity.parse.failed':
      return Errors.invalidJson(e.message ?? 'parse error');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return Errors.unsupportedMediaType(e.message ?? 'unsupported encoding');
    case 'request.aborted':
      return Errors.requestAborted();
    default:
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
        return Errors.badRequest(e.status, e.message ?? 'bad request');
      }
      return Errors.internal(err);
  }
}

/** Wraps a listening server as a lifecycle component: closing stops accepting and ends idle sockets. */
export function serverComponent(id: string, server: Server): Component {
  return {
    id,
    isReady: () => server.listening,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

export type HttpLimits = Pick<Config, 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS' | 'HTTP_MAX_CONNECTIONS'>;

/**
 * Listens with the timeouts given at creation: Node reads headersTimeout/requestTimeout when the server is built
 * and checks them every connectionsCheckingInterval (30 s by default), so setting them afterwards let a client
 * that trickles its request hold its socket (and the body buffered so far) for up to 90 s. Past
 * HTTP_MAX_CONNECTIONS open sockets, new ones are closed at once.
 */
export function listen(app: Express | RequestListener, port: number, host: string, limits: HttpLimits): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: limits.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: limits.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: limits.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.HTTP_HEADERS_TIMEOUT_MS / 4))),
    },
    app,
  );
  server.maxConnections = limits.HTTP_MAX_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Request count and duration by route template, method and status (all bounded label sets), and one log
 * line per request at `logLevel`: ingest logs requests at debug (tens of thousands a second would cost more
 * than the work), reporting at info. The line carries the request id (X-Request-Id when the client sent one),
 * never the query string or headers, so neither keys nor user data reach the logs.
 */
export function requestMetrics(registry: Registry, log?: { logger: Logger; level: 'info' | 'debug' }): RequestHandler {
  const duration = new Histogram({
    name: 'sitestream_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = typeof routePath === 'string' ? routePath : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      duration.observe({ route, method: req.method, status: String(res.statusCode) }, seconds);
      if (log && log.logger.isLevelEnabled(log.level)) {
        const header = req.headers['x-request-id'];
        const requestId = typeof header === 'string' && header.length <= 128 ? header : randomUUID();
        log.logger[log.level]({ request_id: requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      }
    });
    next();
  };
}

export function serverUrl(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
}
