import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, mountOpsRoutes, requestMetrics, type Config, type Knex, type Lifecycle, type Logger } from '@sitestream/shared';
import { statsRoutes } from './stats.routes';

export interface ReportingDeps {
  config: Config;
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
  db: Knex;
}

export function createReportingApp(deps: ReportingDeps): Express {
  const app = createBaseApp({ trustProxyHops: deps.config.TRUST_PROXY_HOPS });
  app.use(requestMetrics(deps.registry));
  mountOpsRoutes(app, deps.lifecycle, deps.registry);
  app.use(statsRoutes(deps));
  finishApp(app, deps.logger);
  return app;
}
