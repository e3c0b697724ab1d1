import { createDb } from '@sitestream/db';
import {
  cachedProbe,
  createMetricsRegistry,
  Lifecycle,
  listen,
  serverComponent,
  serverUrl,
  startManagementListener,
  type Config,
  type Logger,
  type RunningService,
} from '@sitestream/shared';
import { createReportingApp } from './app';
import { startQueryRollupJob } from './query/query-rollup-job';

/** Wires the reporting service from validated config: database pool → HTTP app → listening server. */
export async function startReportingService(config: Config, logger: Logger): Promise<RunningService> {
  const registry = createMetricsRegistry('reporting');
  const lifecycle = new Lifecycle(logger);
  // Reporting reads rollups: its queries are short, and a runaway one (a long range) is cut off early.
  const db = createDb({ ...config, DB_STATEMENT_TIMEOUT_MS: config.REPORTING_STATEMENT_TIMEOUT_MS }, logger, 'sitestream-reporting');
  lifecycle.add({ id: 'db', isReady: cachedProbe(async () => (await db.raw('SELECT 1'), true)), close: () => db.destroy() });
  const management = await startManagementListener(config, config.REPORTING_MANAGEMENT_PORT, lifecycle, registry, logger);
  lifecycle.add(management.component);
  lifecycle.add(startQueryRollupJob(config, logger));
  const app = createReportingApp({ config, logger, registry, lifecycle, db });
  const server = await listen(app, config.REPORTING_PORT, config.HOST, config);
  lifecycle.add(serverComponent('http', server));
  return { url: serverUrl(server), managementUrl: management.url, lifecycle, stop: () => lifecycle.shutdown('stop') };
}
