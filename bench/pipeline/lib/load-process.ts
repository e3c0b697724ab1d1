import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

/** What the load generator (load.ts) prints: cumulative counts, as progress lines (`progress: true`) and as the last line. */
export interface LoadSummary {
  progress?: true;
  targetRate: number;
  /** Seconds spent sending (so far, for a progress line). */
  seconds: number;
  /** Events put in requests, and events ingest answered as accepted. */
  sent: number;
  accepted: number;
  /** Events not sent because the generator had its cap of requests in flight. */
  skipped: number;
  requests: number;
  /** Answers by HTTP status, and by class ("2xx", "4xx", "5xx"). */
  statuses: Record<string, number>;
  classes: Record<string, number>;
  /** Requests that got no answer: the connection failed, or the answer took longer than --timeout-ms. */
  connectionErrors: number;
  timeouts: number;
  failedRequests: number;
  achievedRate: number;
  p50: number;
  p99: number;
}

export interface LoadProcess {
  child: ChildProcess;
  /** The latest counts the generator printed (undefined before its first progress line). */
  latest(): LoadSummary | undefined;
  /** The final summary, once the generator has sent everything and every answer is in. */
  done: Promise<LoadSummary>;
}

/** Runs the load generator (dist/pipeline/load.js next to this folder) as its own process, reading its progress lines as they come. */
export function startLoad(args: string[]): LoadProcess {
  const child = spawn(process.execPath, [resolve(__dirname, '..', 'load.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let latest: LoadSummary | undefined;
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.trim()) latest = JSON.parse(line) as LoadSummary;
  });
  const done = new Promise<LoadSummary>((ok, fail) => {
    child.once('close', (code) => {
      if (code !== 0) return fail(new Error(`load generator exited with ${code}`));
      latest = JSON.parse(buffered) as LoadSummary;
      ok(latest);
    });
  });
  return { child, latest: () => latest, done };
}
