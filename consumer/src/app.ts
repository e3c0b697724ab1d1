import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, mountOpsRoutes, type Lifecycle, type Logger } from '@sitestream/shared';

/** The consumer's own small HTTP surface: health, readiness, metrics. */
export function createConsumerApp(deps: { lifecycle: Lifecycle; registry: Registry; logger: Logger; trustProxyHops: number }): Express {
  const app = createBaseApp({ trustProxyHops: deps.trustProxyHops });
  mountOpsRoutes(app, deps.lifecycle, deps.registry, { metrics: true });
  finishApp(app, deps.logger);
  return app;
}
