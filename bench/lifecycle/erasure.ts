import { parseArgs } from 'node:util';
import { eraseVisitor, lockSite, rebuildRollups, recomputeVisits } from '@sitestream/db';
import { openBenchDatabase } from '../reporting/lib/bench-db';
import { loadLine, machineLine } from '../reporting/lib/measure';

const log = (line: string) => process.stdout.write(`${line}\n`);
const DATABASE = 'sitestream_bench_erasure';
const SITE = 'big-site';

/**
 * `npm run bench:erasure`: what one visitor's erasure costs on a site with many events, and how long it holds
 * the site's lock (the consumer's writes for the site wait that long; past SITE_LOCK_TIMEOUT they fail and retry).
 * Beside it, in the same run on the same rows, the baseline: recomputing the site's visits from its raw events,
 * which erasure did before it took out only the visitor's own visits.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, visitors: { type: 'string', default: '100000' }, runs: { type: 'string', default: '5' } } });
  const events = Number(values.events);
  const visitors = Number(values.visitors);
  const runs = Number(values.runs);
  log(`machine: ${machineLine()}; ${loadLine()}`);
  const { db } = await openBenchDatabase(DATABASE, { fresh: true });
  try {
    // One site, `visitors` visitors with events spread over 30 days (a few visits each), inserted directly.
    const t0 = performance.now();
    await db.raw(
      `INSERT INTO analytics.website_events (site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset)
       SELECT ?, CASE WHEN i % 7 = 0 THEN 'click' ELSE 'page_view' END, '/p/' || (i % 500), 'u' || (i % ?),
              timestamptz '2025-11-01 00:00:00+00' + (hashint4(i)::bigint & 2147483647) % (30 * 86400) * interval '1 second',
              gen_random_uuid(), now(), 0, i
       FROM generate_series(1, ?) i`,
      [SITE, visitors, events],
    );
    await db.raw('VACUUM ANALYZE analytics.website_events');
    const rebuilt = await rebuildRollups(db, { siteId: SITE });
    log(`data: ${events.toLocaleString('en-US')} events of ${visitors.toLocaleString('en-US')} visitors on one site over 30 days, rollups and visits built (${((performance.now() - t0) / 1000).toFixed(1)} s; ${JSON.stringify(rebuilt)})`);

    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const recompute: number[] = [];
    for (let r = 0; r < Math.min(runs, 3); r++) {
      const started = performance.now();
      await db.transaction(async (trx) => {
        await lockSite(trx, SITE);
        await recomputeVisits(trx, SITE);
      });
      recompute.push(performance.now() - started);
    }
    const erase: number[] = [];
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      const summary = await eraseVisitor(db, SITE, `u${1 + r * 997}`);
      erase.push(performance.now() - started);
      if (summary.events === 0) throw new Error(`visitor u${1 + r * 997} had no events`);
    }
    const ms = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
    log(`baseline, recompute of the site's visits under its lock (what erasure also did before): ${ms(recompute)}`);
    log(`erasure of one visitor now (whole transaction under the site's lock): ${ms(erase)}`);
    log(`erasure before ≥ baseline + now's other steps: ${(median(recompute) + median(erase)).toFixed(0)} ms; now ÷ before ≤ ${(median(erase) / (median(recompute) + median(erase))).toFixed(4)}`);
    log(loadLine());
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error('bench:erasure failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
