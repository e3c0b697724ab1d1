import { setSiteTimeZone } from '@sitestream/db';
import { QUERY_ZONES, queryDataset, type QEv } from '../reporting/query-model';
import { createTestKey, postJson, startPipeline, type Pipeline } from './pipeline';
import { countRows } from './test-database';
import { waitFor } from './wait-for';

/** What the query API's model tests ask by (tests/e2e/query-api.test.ts, query-plans.test.ts). */
export const EVENT_DIMS = ['event:page', 'event:name', 'event:hostname', 'event:props:plan', 'event:props:seats'];
export const VISIT_DIMS = ['visit:source', 'visit:referrer', 'visit:utm_source', 'visit:utm_medium', 'visit:utm_campaign', 'visit:utm_term',
  'visit:utm_content', 'visit:browser', 'visit:os', 'visit:device', 'visit:country', 'visit:entry_page', 'visit:exit_page'];
export const TIME_DIMS = ['time:hour', 'time:day', 'time:week', 'time:month'];
export const EVENT_METRICS = ['visitors', 'pageviews', 'events'];
export const VISIT_METRICS = ['visits', 'bounce_rate', 'visit_duration', 'views_per_visit'];
export const SITES = Object.keys(QUERY_ZONES);
// Covers New York's fall-back day (2025-11-02) and the days around it.
export const RANGE: [string, string] = ['2025-11-01', '2025-11-03'];

/**
 * The whole pipeline (ingest → Kafka → consumer → PostgreSQL → reporting) with the model's dataset sent through
 * ingest and stored. No background rollup job: a test builds the per-day rows itself, when it checks them.
 */
export async function startQueryPipeline(): Promise<{ pipeline: Pipeline; headers: Record<string, string>; events: QEv[] }> {
  const pipeline = await startPipeline({ REPORTING_RATE_LIMIT_PER_MINUTE: 1_000_000, REPORTING_STATEMENT_TIMEOUT_MS: 3000, REPORTING_QUERY_ROLLUP_INTERVAL_MS: 0 });
  const headers = (await createTestKey(pipeline.db)).headers;
  for (const [site, zone] of Object.entries(QUERY_ZONES)) await setSiteTimeZone(pipeline.db, site, zone);
  const data = queryDataset();
  for (let i = 0; i < data.bodies.length; i += 40) {
    const r = await postJson(`${pipeline.ingestUrl}/events`, { events: data.bodies.slice(i, i + 40) });
    if (r.status !== 202) throw new Error(`POST /events answered ${r.status}`);
  }
  await waitFor(async () => (await countRows(pipeline.db, 'analytics.website_events')) === data.events.length || undefined, { what: 'every event stored', timeoutMs: 90_000 });
  return { pipeline, headers, events: data.events };
}
