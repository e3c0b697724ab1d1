import { createLogger, loadConfig } from '@sitestream/shared';
import { startReportingService } from './service';

/** Process entry: config, logger, the service, signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'reporting');
  const service = await startReportingService(config, logger);
  service.lifecycle.installSignalHandlers();
  logger.info({ url: service.url }, 'reporting listening');
}

main().catch((err: unknown) => {
  console.error('reporting failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
