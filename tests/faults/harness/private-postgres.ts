import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../helpers/processes';

/** Debian's PostgreSQL 15 binaries (CI and this machine); PG_BIN overrides for other layouts. */
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL server of the fault suite's own: initdb into a temporary folder, a free loopback port, trust auth.
 * Scenarios stop, restart and kill it; the machine's shared cluster (5432) is never touched, and this class has
 * no way to reach it: every command names this server's own data folder (`pg_ctl -D`), never a cluster name.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then every command runs as the `postgres` OS user
 * (runuser), which owns the folder. As any other user the commands run as that user.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** postgres://postgres@127.0.0.1:<port>/postgres: may CREATE DATABASE. */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private get logFile(): string {
    return join(this.dir, 'server.log');
  }

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'sitestream-faults-pg-'));
    if (asRoot()) {
      const { uid, gid } = postgresUser();
      chownSync(dir, uid, gid);
    }
    chmodSync(dir, 0o700);
    const port = await freePort();
    const server = new PrivatePostgres(port, dir);
    live.add(server);
    try {
      run('initdb', ['-D', server.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
      server.start();
    } catch (err) {
      server.remove();
      throw err;
    }
    return server;
  }

  /** Starts the server and waits until it accepts connections (pg_ctl -w). */
  start(): void {
    const options = [
      `-p ${this.port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${this.dir}'`,
      '-c max_connections=200',
      '-c shared_buffers=64MB',
      // Sized for a 2-core machine shared with Kafka and the services; durability settings stay at their defaults.
      '-c max_worker_processes=4',
      '-c max_parallel_workers=0',
      '-c max_parallel_workers_per_gather=0',
      // For experiments only, e.g. FAULTS_PG_OPTIONS='-c synchronous_commit=off' makes the SIGKILL scenario lose
      // acknowledged commits (see postgres.faults.test.ts). Unset in the suite.
      process.env.FAULTS_PG_OPTIONS ?? '',
    ].join(' ');
    run('pg_ctl', ['-D', this.data, '-l', this.logFile, '-o', options, '-w', '-t', '120', 'start']);
  }

  /** A clean, fast shutdown (what an operator's restart does): open sessions are ended. */
  stop(): void {
    run('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', '-t', '120', 'stop']);
  }

  restart(): void {
    this.stop();
    this.start();
  }

  /**
   * A crash: SIGKILL to the postmaster and every one of its processes at once. No shutdown checkpoint, and WAL
   * still in shared memory (not yet written by any process) is gone; the next start runs crash recovery. What a
   * commit acknowledged to the client must survive is exactly what this tests. Resolves once all are gone.
   */
  async kill(): Promise<void> {
    const postmaster = Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(postmaster) || postmaster <= 1) throw new Error(`no postmaster pid in ${this.data}`);
    const pids = [postmaster, ...childrenOf(postmaster)];
    for (const pid of pids) signal(pid, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while (pids.some(alive)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL processes ${pids.filter(alive).join(', ')} survived SIGKILL`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Terminates the consumer's sessions on one database (what a failover or an admin does). */
  async terminateConsumerBackends(databaseUrl: string): Promise<number> {
    const url = new URL(databaseUrl);
    if (url.port !== String(this.port)) throw new Error(`${databaseUrl} is not on this private server (port ${this.port})`);
    const name = url.pathname.slice(1);
    const client = new pg.Client({ connectionString: this.adminUrl });
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
  }

  /** The server log's tail, for a failing scenario's report. */
  logTail(lines = 30): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n') : '';
  }

  /** Stops the server without waiting for sessions (immediate) and removes its folder. */
  destroy(): void {
    try {
      if (existsSync(join(this.data, 'postmaster.pid'))) run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
    } finally {
      this.remove();
    }
  }

  private remove(): void {
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// A jest run that ends abruptly (a timeout, Ctrl-C) still takes its servers with it.
const live = new Set<PrivatePostgres>();
process.once('exit', () => {
  for (const server of [...live]) {
    try {
      server.destroy();
    } catch {
      // Best effort on the way out.
    }
  }
});

/** The processes whose parent is `pid` (from /proc: no dependency on procps). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) is in parentheses and may hold spaces: the parent pid is after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Until reaped: a zombie postmaster still holds its pid, and a new postmaster refuses a lock file whose pid lives. */
function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

function asRoot(): boolean {
  return process.getuid?.() === 0;
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function run(tool: 'initdb' | 'pg_ctl', args: string[]): void {
  const binary = join(BIN, tool);
  const [command, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  try {
    execFileSync(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', cwd: tmpdir() });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed (as ${asRoot() ? 'postgres' : userInfo().username}): ${e.stderr || e.stdout || e.message}`);
  }
}
