import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { Config } from './config';
import type { Logger } from './logger';

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
 * Errors worth retrying: the connection or the server went away, the server is starting or shutting down,
 * a serialization failure or deadlock, resources exhausted, or the pool could not hand out a connection.
 */
export function isTransientDbError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  // 57014: statement_timeout hit while waiting for a lock another (frozen) session holds; 55P03: lock not available.
  if (/^(08|53|57P)/.test(code) || ['40001', '40P01', '57014', '55P03'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    e.name === 'KnexTimeoutError' ||
    /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection/i.test(message)
  );
}

/** SQLSTATE classes that mean "this row can never be stored" as opposed to "try again later". */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || (code.startsWith('23') && code !== '23505'));
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
