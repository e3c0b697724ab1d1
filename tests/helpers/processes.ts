import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export { freePort, freePorts } from '@sitestream/infra';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Runs a service's compiled composition root (what Docker and npm start run) as its own process. */
export function spawnService(name: 'ingest' | 'consumer' | 'reporting', env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [resolve(ROOT, name, 'dist', 'main.js')], {
    // Management listeners on free ports unless the caller names them: tests run beside each other and npm start.
    env: { ...process.env, INGEST_MANAGEMENT_PORT: '0', REPORTING_MANAGEMENT_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(code ?? signal ?? -1)));
  return { name, child, output: () => out, exited };
}
