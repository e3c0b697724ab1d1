import { createDb, ensureDatabase, migrateLatest } from '@sitestream/db';
import { createLogger, loadConfig } from '@sitestream/shared';

/** `npm run migrate`: creates the database if missing and applies pending migrations. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'migrate');
  await ensureDatabase(config.DATABASE_URL);
  const db = createDb(config, logger, 'sitestream-migrate');
  try {
    const applied = await migrateLatest(db);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error('migration failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
