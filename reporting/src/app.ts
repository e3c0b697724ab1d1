import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Knex } from '@sitestream/db';
import { createBaseApp, finishApp, mountOpsRoutes, openApiDocument, requestMetrics, type Config, type Lifecycle, type Logger } from '@sitestream/shared';
import { authenticate } from './auth';
import { AuthFailureCounter } from './auth-failures';
import { keyRateLimit } from './key-rate-limit';
import { createReportingMetrics } from './reporting-metrics';
import { queryRoutes } from './query/query.routes';
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
  const metrics = createReportingMetrics(deps.registry);
  app.use(requestMetrics(deps.registry, { logger: deps.logger, level: 'info' }));
  mountOpsRoutes(app, deps.lifecycle, deps.registry);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  const failures = new AuthFailureCounter(deps.config.REPORTING_AUTH_FAILURES_PER_MINUTE);
  const guards = [authenticate({ db: deps.db, metrics, failures }), keyRateLimit(deps.config.REPORTING_RATE_LIMIT_PER_MINUTE, metrics)];
  app.use(statsRoutes({ db: deps.db, metrics, guards }));
  app.use(queryRoutes({ db: deps.db, metrics, guards }));
  finishApp(app, deps.logger);
  return app;
}
