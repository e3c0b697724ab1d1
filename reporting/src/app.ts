import compression from 'compression';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Knex } from '@sitestream/db';
import { createBaseApp, finishApp, mountOpsRoutes, openApiDocument, requestMetrics, type Config, type Lifecycle, type Logger } from '@sitestream/shared';
import { authenticate } from './auth';
import { AuthFailureCounter, KnownKeys } from './auth-failures';
import { loadDashboardAssets } from './dashboard-assets';
import { dashboardRoutes } from './dashboard.routes';
import { keyRateLimit } from './key-rate-limit';
import { keyConcurrency, RangeGate } from './query-limits';
import { createReportingMetrics } from './reporting-metrics';
import { queryRoutes } from './query/query.routes';
import { sitesRoutes } from './sites.routes';
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
  // Answers of 1 kB and more in the encoding the client accepts (gzip, br, deflate): a query API answer of
  // thousands of rows is mostly repeated keys and dimension values. The dashboard's files come compressed
  // already (their Content-Encoding makes this skip them).
  app.use(compression());
  // /metrics is on the management listener only (service.ts).
  mountOpsRoutes(app, deps.lifecycle, deps.registry, { metrics: false });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  const failures = new AuthFailureCounter(deps.config.REPORTING_AUTH_FAILURES_PER_MINUTE);
  const guards = [
    authenticate({ db: deps.db, metrics, failures, known: new KnownKeys() }),
    keyRateLimit(deps.config.REPORTING_RATE_LIMIT_PER_MINUTE, metrics),
    keyConcurrency(deps.config.REPORTING_KEY_MAX_CONCURRENT, metrics),
  ];
  const ranges = new RangeGate(deps.config.REPORTING_MAX_CONCURRENT_RANGES);
  app.use(statsRoutes({ db: deps.db, databaseUrl: deps.config.DATABASE_URL, metrics, guards, ranges }));
  app.use(queryRoutes({ db: deps.db, databaseUrl: deps.config.DATABASE_URL, metrics, guards, ranges }));
  app.use(sitesRoutes({ db: deps.db, metrics, guards, keyMaxConcurrent: deps.config.REPORTING_KEY_MAX_CONCURRENT }));
  // The analysts' page, built on the public API above only (reporting/dashboard).
  app.use(dashboardRoutes(loadDashboardAssets()));
  finishApp(app, deps.logger);
  return app;
}
