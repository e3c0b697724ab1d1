import type { RequestListener } from 'node:http';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, mountOpsRoutes, requestMetrics, type Config, type Lifecycle, type Logger } from '@sitestream/shared';
import type { Enricher } from './enrich/enricher';
import { EventIntake } from './event-intake';
import type { EventPublisher } from './event-publisher';
import { eventRoutes } from './event.routes';
import { hotEventRoute } from './hot-route';
import { BodyBudget } from './read-body';
import { trackerRoutes } from './tracker.routes';

export interface IngestDeps {
  config: Config;
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
  publisher: EventPublisher;
  enricher: Enricher;
  now?: () => number;
}

/**
 * Builds ingest's HTTP handling; listening is the caller's job (service.ts, or a test). `listener` answers the
 * plain `POST /event` itself (hot-route.ts) and hands every other request to the Express `app`.
 */
export function createIngestApp(deps: IngestDeps): { app: Express; listener: RequestListener } {
  const { config } = deps;
  const intake = new EventIntake(deps);
  // One budget for every route: bounds the bytes all unfinished bodies of this process hold together.
  const budget = new BodyBudget(config.INGEST_MAX_PENDING_BODY_BYTES);
  const metrics = requestMetrics(deps.registry, { logger: deps.logger, level: 'debug' });
  const app = createBaseApp({ trustProxyHops: config.TRUST_PROXY_HOPS });
  app.use(metrics);
  // /metrics is on the management listener only (service.ts).
  mountOpsRoutes(app, deps.lifecycle, deps.registry, { metrics: false });
  app.use(eventRoutes(intake, config.INGEST_BODY_LIMIT_BYTES, budget));
  app.use(trackerRoutes());
  finishApp(app, deps.logger);
  const hot = hotEventRoute({
    intake,
    limitBytes: config.INGEST_BODY_LIMIT_BYTES,
    budget,
    trustProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
    requestMetrics: metrics as never,
    logger: deps.logger,
  });
  return { app, listener: (req, res) => hot(req, res) || app(req, res) };
}
