import { createDb, ensureDatabase, migrateLatest, type Knex } from '@sitestream/db';
import { createLogger, loadConfig } from '@sitestream/shared';
import { buildAdminProgram } from './program';

/**
 * `npm run admin -- <command>`: the composition root of the admin CLI. The schema is brought up to date first,
 * so the CLI works on a database npm start has not touched yet. Admin work (a rebuild) may legitimately run for
 * minutes, so its statements get a long timeout of their own.
 */
async function main(): Promise<void> {
  const program = buildAdminProgram({
    withDb: async (run) => {
      const config = loadConfig();
      await ensureDatabase(config.DATABASE_URL);
      const db: Knex = createDb(
        { ...config, DB_POOL_MAX: 2, DB_STATEMENT_TIMEOUT_MS: 30 * 60_000 },
        createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'admin'),
        'sitestream-admin',
      );
      try {
        await migrateLatest(db);
        return await run(db);
      } finally {
        await db.destroy();
      }
    },
    retentionDefaultDays: loadConfig().RETENTION_DAYS,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  console.error('admin:', err instanceof Error ? err.message : err);
  process.exit(1);
});
