import { parseArgs } from 'node:util';
import { makeBatch, makeEvent, visitorAgent, type EventOptions } from './lib/events';
import { LatencyHistogram } from './lib/latency-histogram';
import type { LoadSummary } from './lib/load-process';

/**
 * The load generator: a separate process that POSTs to ingest at a fixed rate (open loop: a request is sent on
 * schedule whether or not earlier ones were answered, up to a cap on requests in flight), and prints a JSON
 * summary. Arguments: <ingest url> <events/s> <seconds> <events per request> <sites>, then
 *   --single-share f   this share of the events goes as single POST /event (the rest as POST /events batches)
 *   --context          events with context, visitors' user agents and addresses (lib/events.ts)
 *   --progress-ms n    also print the cumulative counts as a JSON line every n ms
 *   --timeout-ms n     a request unanswered after n ms counts as a timeout (0: wait for ever)
 */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'single-share': { type: 'string', default: '0' },
      context: { type: 'boolean', default: false },
      'progress-ms': { type: 'string', default: '0' },
      'timeout-ms': { type: 'string', default: '0' },
    },
  });
  const [url, rateText, secondsText, batchText, sitesText] = positionals;
  const rate = Number(rateText);
  const seconds = Number(secondsText);
  const batch = Number(batchText);
  const singleShare = Number(values['single-share']);
  const progressMs = Number(values['progress-ms']);
  const timeoutMs = Number(values['timeout-ms']);
  const events: EventOptions = { sites: Number(sitesText), context: values.context };
  if (!url || !(rate > 0) || !(seconds > 0) || !(batch > 0) || !(events.sites > 0) || !(singleShare >= 0 && singleShare <= 1)) {
    throw new Error('usage: load <url> <events/s> <seconds> <batch> <sites> [--single-share 0..1] [--context] [--progress-ms n] [--timeout-ms n]');
  }

  const maxInFlight = 256;
  const latencies = new LatencyHistogram();
  const counts = { sent: 0, accepted: 0, skipped: 0, requests: 0, connectionErrors: 0, timeouts: 0 };
  const statuses: Record<string, number> = {};
  const classes: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();

  const post = async (path: string, size: number, body: string, headers: Record<string, string>) => {
    counts.sent += size;
    counts.requests++;
    const started = performance.now();
    try {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
      });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const cls = `${Math.floor(res.status / 100)}xx`;
      classes[cls] = (classes[cls] ?? 0) + 1;
      const text = await res.text();
      latencies.record(performance.now() - started);
      if (path === '/event') counts.accepted += res.status === 202 ? 1 : 0;
      else if (res.ok) counts.accepted += (JSON.parse(text) as { accepted?: number }).accepted ?? 0;
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') counts.timeouts++;
      else counts.connectionErrors++;
    }
  };
  const send = (size: number) => {
    if (inFlight.size >= maxInFlight) {
      counts.skipped += size;
      return;
    }
    let request: Promise<void>;
    if (size === 1) {
      // A browser's tracker: the visitor's own headers, through one proxy (ingest runs with TRUST_PROXY_HOPS=1).
      const { event, user } = makeEvent(events);
      const agent = visitorAgent(user);
      const headers: Record<string, string> = events.context ? { 'user-agent': agent.userAgent, 'x-forwarded-for': agent.ip } : {};
      request = post('/event', 1, JSON.stringify(event), headers);
    } else {
      request = post('/events', size, JSON.stringify({ events: makeBatch(size, events) }), {});
    }
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  const start = performance.now();
  const summary = (progress: boolean): LoadSummary => {
    const sendingSeconds = Math.min(seconds, (performance.now() - start) / 1000);
    return {
      ...(progress ? { progress: true as const } : {}),
      targetRate: rate,
      seconds: sendingSeconds,
      ...counts,
      statuses,
      classes,
      failedRequests: counts.connectionErrors + counts.timeouts,
      achievedRate: counts.accepted / sendingSeconds,
      p50: latencies.quantile(0.5),
      p99: latencies.quantile(0.99),
    };
  };
  const ticker = progressMs > 0 ? setInterval(() => process.stdout.write(`${JSON.stringify(summary(true))}\n`), progressMs) : undefined;
  // Two schedules, each on time by itself: batches of `batch` events, and single events.
  const stream = async (eventsPerSecond: number, size: number) => {
    if (eventsPerSecond <= 0) return;
    const intervalMs = (1000 * size) / eventsPerSecond;
    for (let i = 0; ; i++) {
      const due = start + i * intervalMs;
      if (due - start >= seconds * 1000) break;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      send(size);
    }
  };
  await Promise.all([stream(rate * (1 - singleShare), batch), stream(rate * singleShare, 1)]);
  const sendingSeconds = (performance.now() - start) / 1000;
  await Promise.all(inFlight);
  if (ticker) clearInterval(ticker);
  process.stdout.write(JSON.stringify({ ...summary(false), seconds: sendingSeconds, achievedRate: counts.accepted / sendingSeconds }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
