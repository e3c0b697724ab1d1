import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import pg from 'pg';

/**
 * Controls the machine's PostgreSQL cluster (Debian's pg_ctlcluster). These scenarios stop the whole server:
 * run them when nothing else needs the database.
 */
function cluster(action: 'stop' | 'start' | 'restart'): void {
  const version = readdirSync('/etc/postgresql')[0];
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', String(version), 'main', action, ...(action === 'stop' ? ['-m', 'fast'] : [])], { stdio: 'inherit' });
}

export const postgres = {
  stop: () => cluster('stop'),
  start: () => cluster('start'),
  restart: () => cluster('restart'),
  /** Terminates the consumer's sessions on one database (what a failover or an admin does). */
  async terminateConsumerBackends(databaseUrl: string): Promise<number> {
    const url = new URL(databaseUrl);
    const name = url.pathname.slice(1);
    url.pathname = '/postgres';
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const r = await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'sitestream-consumer'`,
        [name],
      );
      return r.rowCount ?? 0;
    } finally {
      await client.end();
    }
  },
};
