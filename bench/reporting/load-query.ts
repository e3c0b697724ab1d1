import autocannon from 'autocannon';

/**
 * A separate process that loads POST /api/v2/query over HTTP with autocannon and prints its result as JSON.
 * Arguments: <base url> <api key> <requests> <connections> <JSON list of bodies> (each connection cycles through
 * the bodies). Latencies from autocannon's per-response durations (its histogram keeps whole milliseconds).
 */
async function main(): Promise<void> {
  const [url, key, amount, connections, bodies] = process.argv.slice(2);
  if (!url || !key || !amount || !connections || !bodies) throw new Error('usage: load-query <url> <key> <requests> <connections> <bodies JSON>');
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url,
        amount: Number(amount),
        connections: Number(connections),
        timeout: 120,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        requests: (JSON.parse(bodies) as unknown[]).map((body) => ({ method: 'POST', path: '/api/v2/query', body: JSON.stringify(body) })),
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
    JSON.stringify({ requests: result.requests.total, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] ?? NaN }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
