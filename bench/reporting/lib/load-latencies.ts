import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  rps: number;
  durationS: number;
}

/**
 * One autocannon run with exact latencies of the 2xx answers: autocannon's own histogram keeps whole
 * milliseconds; its response events carry the exact duration. Shared by the load processes (load-*.ts).
 */
export async function loadWithLatencies(options: autocannon.Options): Promise<LoadResult> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(options, (err, res) => (err ? fail(err) : done(res)));
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN;
  return {
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: q(0.5),
    p99: q(0.99),
    max: latencies[latencies.length - 1] ?? NaN,
    mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    rps: result.requests.total / Math.max(1e-9, result.duration),
    durationS: result.duration,
  };
}

/** The load process's entry point: runs `main`, and on failure prints the reason and exits 1. */
export function runLoadProcess(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
