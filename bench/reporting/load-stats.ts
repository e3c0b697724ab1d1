import { loadWithLatencies, runLoadProcess } from './lib/load-latencies';

/**
 * A separate process that loads /stats over HTTP with autocannon and prints its result as JSON.
 * Arguments: <base url> <api key> <requests> <connections> <path>… (each connection cycles through the paths).
 */
runLoadProcess(async () => {
  const [url, key, amount, connections, ...paths] = process.argv.slice(2);
  if (!url || !key || !amount || !connections || paths.length === 0) throw new Error('usage: load-stats <url> <key> <requests> <connections> <path>…');
  const result = await loadWithLatencies({
    url,
    amount: Number(amount),
    connections: Number(connections),
    headers: { authorization: `Bearer ${key}` },
    requests: paths.map((path) => ({ method: 'GET', path })),
  });
  process.stdout.write(JSON.stringify(result));
});
