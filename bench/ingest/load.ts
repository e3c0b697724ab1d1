import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
export const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);

export interface Run {
  name: string;
  eventsPerRequest: number;
  /** CPU time the server process (and, for ingest, the broker) spent per request, from /proc: noise-resistant. */
  serverCpuUs?: number;
  brokerCpuUs?: number;
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
}

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  latency: { p50: number; p99: number };
}

/** One autocannon run in its own process, so the load generator never shares an event loop with the server. */
export function load(url: string, bodyFile: string, seconds: number, headers: string[] = []): Promise<AutocannonResult> {
  const cli = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const extra = headers.flatMap((h) => ['-H', h]);
  const args = [cli, '-j', '-n', '-c', String(CONNECTIONS), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', ...extra, '-i', bodyFile, url];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      resolveRun(JSON.parse(out) as AutocannonResult);
    });
  });
}

/** One measured run: autocannon's answer counts and latency, and the CPU the server and the broker spent on it. */
export async function measure(
  name: string,
  eventsPerRequest: number,
  url: string,
  bodyFile: string,
  server: ChildProcess,
  broker?: ChildProcess,
  headers: string[] = [],
  seconds = DURATION_S,
): Promise<Run> {
  const before = [cpuTicks(server), cpuTicks(broker)];
  const r = await load(url, bodyFile, seconds, headers);
  const after = [cpuTicks(server), cpuTicks(broker)];
  const perRequestUs = (i: number) => {
    const [b, a] = [before[i], after[i]];
    return a === undefined || b === undefined || r['2xx'] === 0 ? undefined : ((a - b) * 1e6) / TICKS_PER_S / r['2xx'];
  };
  return {
    name,
    eventsPerRequest,
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
    seconds: r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    serverCpuUs: perRequestUs(0),
    brokerCpuUs: perRequestUs(1),
  };
}

/** Linux's clock ticks (USER_HZ, 100 on every mainstream kernel) of user + system time of a process. */
const TICKS_PER_S = 100;
function cpuTicks(child: ChildProcess | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${child?.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}
