import { randomUUID } from 'node:crypto';
import { writeBatch, type DecodedRecord } from '@sitestream/consumer';
import { ROLLUP_TABLES, VISIT_TABLES, type Knex } from '@sitestream/db';
import { dropBenchDatabase, openBenchDatabase } from './lib/bench-db';
import { dropRows } from './lib/drop-rows';
import { elapsed } from './lib/measure';

const PARTITIONS = 6;

/** Events shaped like the reporting dataset, already decoded, grouped into their site's partition. */
function partitionedEvents(count: number): DecodedRecord[][] {
  const byPartition: DecodedRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  const siteHash = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % PARTITIONS;
  const day = Date.parse('2025-11-16T00:00:00Z');
  for (let i = 0; i < count; i++) {
    const site = Math.random() < 0.8 ? 'big-site' : `site-${String(Math.floor(1000 * Math.random() ** 2)).padStart(4, '0')}`;
    const r = Math.random();
    const ts = new Date(day + Math.floor(Math.random() * 86_400_000)).toISOString();
    const p = siteHash(site);
    const records = byPartition[p]!;
    records.push({
      offset: records.length,
      raw: null,
      event: {
        event_id: randomUUID(),
        site_id: site,
        event_type: r < 0.8 ? 'page_view' : r < 0.95 ? 'click' : 'scroll',
        path: `/p/${Math.floor(5000 * Math.random() ** 3)}`,
        user_id: `u${Math.floor(200_000 * Math.random() ** 2)}`,
        timestamp: ts,
        received_at: ts,
      },
    });
  }
  return byPartition;
}

/**
 * The consumer's database write path (writeBatch: raw rows, offsets and — when on — rollups, one transaction
 * per batch) with rollups on and off, on the same events: what rollups cost the consumer. Two partitions are
 * written at a time, as CONSUMER_PARTITIONS_CONCURRENTLY=2 does.
 */
export async function measureWriteThroughput(
  events: number,
  batchSize: number,
  log: (line: string) => void,
): Promise<{ on: number; off: number; noVisits: number }> {
  const data = partitionedEvents(events);
  const result = { on: 0, off: 0, noVisits: 0 };
  const dropped = { off: [...ROLLUP_TABLES, ...VISIT_TABLES], noVisits: [...VISIT_TABLES], on: [] };
  for (const mode of ['off', 'noVisits', 'on'] as const) {
    const name = `sitestream_bench_write_${mode.toLowerCase()}`;
    const { db: setup } = await openBenchDatabase(name, { fresh: true });
    if (dropped[mode].length > 0) await dropRows(setup, dropped[mode]);
    await setup.destroy();
    const { db } = await openBenchDatabase(name, { poolMax: 3 });
    const queue = data.map((records, partition) => ({ records, partition }));
    const started = process.hrtime.bigint();
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        for (let i = 0; i < job.records.length; i += batchSize) {
          await writeBatch(db, { group: 'bench', topic: 'bench', partition: job.partition, records: job.records.slice(i, i + batchSize) });
        }
      }
    };
    await Promise.all([worker(), worker()]);
    const seconds = elapsed(started) / 1000;
    const stored = Number((await db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events')).rows[0]!.n);
    if (stored !== events) throw new Error(`rollups ${mode}: stored ${stored} of ${events}`);
    const rolled = Number((await db.raw<{ rows: { n: number }[] }>('SELECT coalesce(sum(events), 0) AS n FROM analytics.daily_event_counts')).rows[0]!.n);
    if (rolled !== (mode === 'off' ? 0 : events)) throw new Error(`rollups ${mode}: ${rolled} events rolled up`);
    const visited = Number((await db.raw<{ rows: { n: number }[] }>('SELECT coalesce(sum(events), 0) AS n FROM analytics.visits')).rows[0]!.n);
    if (visited !== (mode === 'on' ? events : 0)) throw new Error(`visits ${mode}: ${visited} events in visits`);
    result[mode] = events / seconds;
    const label = { off: 'rollups and visits off', noVisits: 'rollups on, visits off', on: 'rollups and visits on' }[mode];
    log(`  ${label}: ${events} events in ${seconds.toFixed(1)} s = ${Math.round(result[mode])} events/s`);
    await db.destroy();
    await dropBenchDatabase(name);
  }
  return result;
}
