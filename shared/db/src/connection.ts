import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { Config, Logger } from '@sitestream/shared';

export type { Knex } from 'knex';

// COUNT(*) and bigint columns arrive as strings by default; our counts fit in a double by a wide margin.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * A Knex pool whose connections never crash the process: node-postgres emits 'error' on idle clients when
 * the server restarts (57P01), and an unhandled 'error' event would kill us. Each connection also gets a
 * statement_timeout so no query can run away.
 */
export function createDb(
  config: Pick<Config, 'DATABASE_URL' | 'DB_POOL_MAX' | 'DB_STATEMENT_TIMEOUT_MS'> & Partial<Pick<Config, 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS'>>,
  logger: Logger,
  applicationName: string,
): Knex {
  const log = logger.child({ component: 'db' });
  return knex({
    client: 'pg',
    connection: {
      connectionString: config.DATABASE_URL,
      application_name: applicationName,
      statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
      // A process frozen inside a transaction (SIGSTOP, a long GC) would hold its row locks forever.
      ...(config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS ? { idle_in_transaction_session_timeout: config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS } : {}),
    },
    pool: {
      min: 0,
      max: config.DB_POOL_MAX,
      afterCreate: (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
        conn.on('error', (err) => log.warn({ err: err.message }, 'database connection error'));
        done(null, conn);
      },
    },
    acquireConnectionTimeout: 10000,
  });
}

/** Creates the database named in the URL when it does not exist (connecting to `postgres` to do so). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } catch (err) {
        // Another process may have created it at the same moment.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * Cancels what a backend is running (pg_cancel_backend), over a connection of its own: the pool may be the very
 * thing that is full. Best effort: a failure to cancel leaves the statement to its statement_timeout.
 */
export async function cancelBackend(databaseUrl: string, pid: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000, application_name: 'sitestream-cancel' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT pg_cancel_backend($1)', [pid]);
  } catch {
    // Nothing more to do: the statement timeout still bounds the query.
  } finally {
    await client.end().catch(() => undefined);
  }
}
