import { randomUUID } from 'node:crypto';

/**
 * The load generator: a separate process that POSTs /events batches to ingest at a fixed rate (open loop: a
 * request is sent on schedule whether or not earlier ones were answered, up to a cap on requests in flight),
 * and prints a JSON summary. Arguments: <ingest url> <events/s> <seconds> <events per request> <sites>.
 */
async function main(): Promise<void> {
  const [url, rateText, secondsText, batchText, sitesText] = process.argv.slice(2);
  const rate = Number(rateText);
  const seconds = Number(secondsText);
  const batch = Number(batchText);
  const sites = Number(sitesText);
  if (!url || !(rate > 0) || !(seconds > 0) || !(batch > 0) || !(sites > 0)) throw new Error('usage: load <url> <events/s> <seconds> <batch> <sites>');

  const maxInFlight = 256;
  const intervalMs = (1000 * batch) / rate;
  const latencies: number[] = [];
  let sent = 0;
  let accepted = 0;
  let failedRequests = 0;
  let skipped = 0;
  let inFlight = 0;
  const statuses: Record<string, number> = {};

  const makeBatch = () =>
    Array.from({ length: batch }, () => {
      const r = Math.random();
      return {
        event_id: randomUUID(),
        site_id: `site-${Math.floor(Math.random() * sites)}`,
        event_type: r < 0.8 ? 'page_view' : r < 0.95 ? 'click' : 'scroll',
        path: `/p/${Math.floor(5000 * Math.random() ** 3)}`,
        user_id: `u${Math.floor(200_000 * Math.random() ** 2)}`,
        timestamp: new Date().toISOString(),
      };
    });

  const send = async () => {
    if (inFlight >= maxInFlight) {
      skipped += batch;
      return;
    }
    inFlight++;
    const body = JSON.stringify({ events: makeBatch() });
    sent += batch;
    const started = performance.now();
    try {
      const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = (await res.json()) as { accepted?: number };
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      accepted += answer.accepted ?? 0;
      latencies.push(performance.now() - started);
    } catch {
      failedRequests++;
    } finally {
      inFlight--;
    }
  };

  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; ; i++) {
    const due = start + i * intervalMs;
    if (due - start >= seconds * 1000) break;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send());
    if (pending.length > 10_000) pending.splice(0, 5_000);
  }
  const sendingSeconds = (performance.now() - start) / 1000;
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN;
  process.stdout.write(
    JSON.stringify({ targetRate: rate, seconds: sendingSeconds, sent, accepted, skipped, failedRequests, statuses, achievedRate: accepted / sendingSeconds, p50: q(0.5), p99: q(0.99) }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
