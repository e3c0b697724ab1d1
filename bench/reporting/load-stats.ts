import autocannon from 'autocannon';

/**
 * A separate process that loads /stats over HTTP with autocannon and prints its result as JSON.
 * Arguments: <base url> <api key> <requests> <connections> <path>… (each connection cycles through the paths).
 */
async function main(): Promise<void> {
  const [url, key, amount, connections, ...paths] = process.argv.slice(2);
  if (!url || !key || !amount || !connections || paths.length === 0) throw new Error('usage: load-stats <url> <key> <requests> <connections> <path>…');
  // autocannon's own histogram keeps whole milliseconds; its response events carry the exact duration.
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url,
        amount: Number(amount),
        connections: Number(connections),
        headers: { authorization: `Bearer ${key}` },
        requests: paths.map((path) => ({ method: 'GET', path })),
      },
      (err, res) => (err ? fail(err) : done(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN;
  process.stdout.write(
    JSON.stringify({
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
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
