import { LatencyHistogram } from './latency-histogram';

export interface EndpointCounts {
  requests: number;
  classes: Record<string, number>;
  statuses: Record<string, number>;
  connectionErrors: number;
  timeouts: number;
  p50: number;
  p99: number;
}

export interface PollerCounts {
  /** Ticks at which the previous poll was still unanswered, so none was sent (a dashboard does not pile up). */
  skippedTicks: number;
  stats: EndpointCounts;
  query: EndpointCounts;
}

export interface DashboardPoller {
  counts(): PollerCounts;
  stop(): Promise<void>;
}

const KPIS = ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration', 'views_per_visit'];

/** What a dashboard left open asks, in turn: today's KPIs, today's top pages, the week's sources. */
const queryBodies = (site: string) => [
  { site_id: site, metrics: KPIS, date_range: 'day', include: { comparison: 'previous_period' } },
  { site_id: site, metrics: ['visitors', 'pageviews'], dimensions: ['event:page'], date_range: 'day', order_by: [['pageviews', 'desc']], pagination: { limit: 10, offset: 0 } },
  { site_id: site, metrics: ['visitors', 'visits'], dimensions: ['visit:source'], date_range: '7d', order_by: [['visitors', 'desc']], pagination: { limit: 10, offset: 0 } },
];

/**
 * A few dashboards left open on reporting: once a second GET /stats for today and POST /api/v2/query, for one of
 * `sites` sites in turn. Every answer is counted by status class; one that takes longer than `timeoutMs` counts
 * as a timeout.
 */
export function startDashboardPoller(options: { reportingUrl: string; key: string; sites: number; intervalMs?: number; timeoutMs?: number }): DashboardPoller {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const endpoints = { stats: newEndpoint(), query: newEndpoint() };
  let skippedTicks = 0;
  let tick = 0;
  let inFlight: Promise<unknown> | undefined;
  const call = async (name: keyof typeof endpoints, path: string, init: RequestInit) => {
    const e = endpoints[name];
    e.counts.requests++;
    const started = performance.now();
    try {
      const res = await fetch(`${options.reportingUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      e.latencies.record(performance.now() - started);
      e.counts.statuses[res.status] = (e.counts.statuses[res.status] ?? 0) + 1;
      const cls = `${Math.floor(res.status / 100)}xx`;
      e.counts.classes[cls] = (e.counts.classes[cls] ?? 0) + 1;
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') e.counts.timeouts++;
      else e.counts.connectionErrors++;
    }
  };
  const poll = () => {
    if (inFlight) return void skippedTicks++;
    const site = `site-${tick % options.sites}`;
    const body = queryBodies(site)[tick % 3];
    tick++;
    const today = new Date().toISOString().slice(0, 10);
    inFlight = Promise.all([
      call('stats', `/stats?site_id=${site}&date=${today}`, { method: 'GET' }),
      call('query', '/api/v2/query', { method: 'POST', body: JSON.stringify(body) }),
    ]).finally(() => (inFlight = undefined));
  };
  const timer = setInterval(poll, options.intervalMs ?? 1000);
  poll();
  // Copies: the samples keep each moment's counts, not references to the live ones.
  const snapshot = (e: ReturnType<typeof newEndpoint>): EndpointCounts => ({
    ...e.counts,
    classes: { ...e.counts.classes },
    statuses: { ...e.counts.statuses },
    p50: e.latencies.quantile(0.5),
    p99: e.latencies.quantile(0.99),
  });
  return {
    counts: () => ({ skippedTicks, stats: snapshot(endpoints.stats), query: snapshot(endpoints.query) }),
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}

function newEndpoint() {
  return {
    counts: { requests: 0, classes: {} as Record<string, number>, statuses: {} as Record<string, number>, connectionErrors: 0, timeouts: 0 },
    latencies: new LatencyHistogram(),
  };
}
