import { loadWithLatencies, runLoadProcess } from './lib/load-latencies';

/**
 * A separate process that loads POST /api/v2/query over HTTP with autocannon and prints its result as JSON.
 * Arguments: <base url> <api key> <requests> <connections> <JSON list of bodies> (each connection cycles through
 * the bodies).
 */
runLoadProcess(async () => {
  const [url, key, amount, connections, bodies] = process.argv.slice(2);
  if (!url || !key || !amount || !connections || !bodies) throw new Error('usage: load-query <url> <key> <requests> <connections> <bodies JSON>');
  const result = await loadWithLatencies({
    url,
    amount: Number(amount),
    connections: Number(connections),
    timeout: 120,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    requests: (JSON.parse(bodies) as unknown[]).map((body) => ({ method: 'POST', path: '/api/v2/query', body: JSON.stringify(body) })),
  });
  process.stdout.write(JSON.stringify(result));
});
