import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, mountOpsRoutes, requestMetrics, type Config, type Lifecycle, type Logger } from '@sitestream/shared';
import type { Enricher } from './enrich/enricher';
import type { EventPublisher } from './event-publisher';
import { eventRoutes } from './event.routes';
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

/** Builds the ingest HTTP app; listening is the caller's job (main.ts, or a test). */
export function createIngestApp(deps: IngestDeps): Express {
  const app = createBaseApp({ trustProxyHops: deps.config.TRUST_PROXY_HOPS });
  app.use(requestMetrics(deps.registry, { logger: deps.logger, level: 'debug' }));
  // /metrics is on the management listener only (service.ts).
  mountOpsRoutes(app, deps.lifecycle, deps.registry, { metrics: false });
  app.use(eventRoutes(deps));
  app.use(trackerRoutes());
  finishApp(app, deps.logger);
  return app;
}
