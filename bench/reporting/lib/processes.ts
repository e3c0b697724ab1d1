import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/** The repository root, from bench/<name>/dist/... or bench/<name>/dist/<name>/... */
export const ROOT = resolve(__dirname.replace(/[/\\]bench[/\\].*$/, ''));

export { freePort } from '@sitestream/infra';

export interface Service {
  name: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Runs a service's compiled entry point as its own process, the way npm start and Docker run it. */
export function startService(name: 'ingest' | 'consumer' | 'reporting', env: Record<string, string>, nodeArgs: string[] = []): Service {
  const child = spawn(process.execPath, [...nodeArgs, resolve(ROOT, name, 'dist', 'main.js')], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    name,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls /readyz until it answers 200. */
export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs a node script as a separate process and returns what it printed on stdout. */
export function runNode(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(`${script} exited with ${code}`))));
  });
}
