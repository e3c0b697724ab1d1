import { Counter, Histogram, type Registry } from 'prom-client';

/** `rejected`: unknown, revoked or expired, deliberately not told apart (metrics must not reveal what a 401 hides). */
export type AuthFailureReason = 'missing' | 'malformed' | 'rejected';

/** The reporting service's own metrics; every label has a small fixed set of values. */
export function createReportingMetrics(registry: Registry) {
  const registers = [registry];
  return {
    queryDuration: new Histogram({
      name: 'sitestream_reporting_query_duration_seconds',
      help: 'Duration of reporting database queries, by query and outcome',
      labelNames: ['query', 'outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    authFailures: new Counter({
      name: 'sitestream_reporting_auth_failures_total',
      help: 'Requests refused 401, by reason: missing, malformed or rejected (unknown, revoked and expired keys are not told apart)',
      labelNames: ['reason'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'sitestream_reporting_rate_limited_requests_total',
      help: 'Requests refused 429 (or 503 for range_concurrency), by limiter: api_key (per key per minute), key_concurrency (queries in flight per key), range_concurrency (range queries in flight), auth_failures (per client address)',
      labelNames: ['limiter'] as const,
      registers,
    }),
  };
}

export type ReportingMetrics = ReturnType<typeof createReportingMetrics>;

/** Times a query into queryDuration, labelled ok or error. */
export async function timed<T>(metrics: ReportingMetrics, query: string, run: () => Promise<T>): Promise<T> {
  const stop = metrics.queryDuration.startTimer({ query });
  try {
    const value = await run();
    stop({ outcome: 'ok' });
    return value;
  } catch (err) {
    stop({ outcome: 'error' });
    throw err;
  }
}
