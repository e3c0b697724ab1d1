import { createLogger, loadConfig } from '@sitestream/shared';
import { startIngestService } from './service';

/** Process entry: config, logger, the service, signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'ingest');
  const service = await startIngestService(config, logger);
  service.lifecycle.installSignalHandlers();
  logger.info({ url: service.url }, 'ingest listening');
}

main().catch((err: unknown) => {
  console.error('ingest failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
