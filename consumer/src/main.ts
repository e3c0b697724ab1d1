import { createLogger, loadConfig } from '@sitestream/shared';
import { startConsumerService } from './service';

/** Process entry: config, logger, the service, signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'consumer');
  const service = await startConsumerService(config, logger);
  service.lifecycle.installSignalHandlers();
  logger.info({ url: service.url, group: config.KAFKA_CONSUMER_GROUP }, 'consumer running');
}

main().catch((err: unknown) => {
  console.error('consumer failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
