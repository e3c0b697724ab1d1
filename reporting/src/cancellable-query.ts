import { cancelBackend, type Knex } from '@sitestream/db';

/** Thrown instead of running a query for a client that has already gone. */
export class ClientGone extends Error {
  constructor() {
    super('client disconnected');
  }
}

interface PooledConnection {
  processID?: number;
}

/**
 * Runs `work` against a view of `db` whose pooled connections are watched: when `signal` aborts (the client
 * disconnected) while a query runs, that backend's statement is cancelled, so a client that gave up stops
 * holding a pool connection. The connection goes back to the pool only once the cancel has been answered, so a
 * late cancel can never reach the next borrower's query. Works with anything that borrows through
 * `db.client.acquireConnection` / `releaseConnection` (named-sql's prepared()).
 */
export async function cancellable<T>(db: Knex, databaseUrl: string, signal: AbortSignal, work: (db: Knex) => Promise<T>): Promise<T> {
  if (signal.aborted) throw new ClientGone();
  let pid: number | undefined;
  let cancelling: Promise<void> | undefined;
  const onAbort = () => {
    if (pid !== undefined) cancelling ??= cancelBackend(databaseUrl, pid);
  };
  const client = {
    acquireConnection: async () => {
      const connection = (await db.client.acquireConnection()) as PooledConnection;
      if (signal.aborted) {
        await db.client.releaseConnection(connection);
        throw new ClientGone();
      }
      pid = connection.processID;
      return connection;
    },
    releaseConnection: async (connection: unknown) => {
      pid = undefined;
      await cancelling;
      cancelling = undefined;
      return db.client.releaseConnection(connection);
    },
  };
  const view = Object.create(db, { client: { value: client } }) as Knex;
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work(view);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
