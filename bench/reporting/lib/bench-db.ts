import pg from 'pg';
import { createDb, ensureDatabase, type Knex, migrateLatest } from '@sitestream/db';
import { createLogger } from '@sitestream/shared';

export const silentLogger = createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'bench');

/** The PostgreSQL server the benches use: the local one unless BENCH_DATABASE_URL names another database. */
export function benchDatabaseUrl(name: string): string {
  const url = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A migrated bench database, never one the tests or npm start use: its name must start with sitestream_bench.
 * `fresh` drops and recreates it.
 */
export async function openBenchDatabase(name: string, options: { fresh?: boolean; poolMax?: number } = {}): Promise<{ url: string; db: Knex }> {
  if (!/^sitestream_bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to use ${name}: bench databases are named sitestream_bench_*`);
  const url = benchDatabaseUrl(name);
  if (options.fresh) await dropBenchDatabase(name);
  await ensureDatabase(url);
  const db = createDb({ DATABASE_URL: url, DB_POOL_MAX: options.poolMax ?? 4, DB_STATEMENT_TIMEOUT_MS: 0 }, silentLogger, 'sitestream-bench');
  await migrateLatest(db);
  return { url, db };
}

export async function dropBenchDatabase(name: string): Promise<void> {
  if (!/^sitestream_bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}`);
  const client = new pg.Client({ connectionString: benchDatabaseUrl('postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
