import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, ensureDatabase, type Knex, migrateLatest } from '@sitestream/db';
import { createLogger } from '@sitestream/shared';

export interface TestDatabase {
  url: string;
  db: Knex;
  drop(): Promise<void>;
}

const silent = createLogger({ LOG_LEVEL: 'silent', LOG_PRETTY: false }, 'test');

/**
 * A fresh, migrated database per test file, so tests cannot see each other's rows. `adminUrl` names the server
 * (default: the test environment's); the fault suite passes its private server's.
 */
export async function createTestDatabase(adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'): Promise<TestDatabase> {
  const admin = new URL(adminUrl);
  const name = `sitestream_test_${randomBytes(5).toString('hex')}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  const db = createDb({ DATABASE_URL: url.toString(), DB_POOL_MAX: 5, DB_STATEMENT_TIMEOUT_MS: 30000 }, silent, 'sitestream-test');
  await migrateLatest(db);
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.destroy();
      await dropDatabase(admin.toString(), name);
    },
  };
}

/** Refuses to drop anything whose name does not say it is a test database. */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^sitestream_test_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop non-test database ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Row count of a table (tests' favourite question). */
export async function countRows(db: Knex, table: string): Promise<number> {
  const rows = await db(table).count<{ n: number }[]>({ n: '*' });
  return Number(rows[0]?.n ?? 0);
}
