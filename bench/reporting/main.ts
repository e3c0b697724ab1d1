import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BIG_SITE, datasetSpec, dayOf, generateDataset, hasDataset, type DatasetSpec } from './dataset';
import { openBenchDatabase } from './lib/bench-db';
import { elapsed, loadLine, machineLine, median, ms, quantile } from './lib/measure';
import { freePort, ROOT, runNode, startService, waitReady } from './lib/processes';
import { timeSeedQueries } from './raw-queries';
import { measureWriteThroughput } from './write-throughput';
import { benchQueries } from './query-bench';
import { createApiKey } from '@sitestream/db';

interface Load {
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
  max: number;
  rps: number;
}

interface SizeResult {
  label: string;
  spec: DatasetSpec;
  rawMs: number[];
  day1: Load;
  day8: Load;
  small: Load;
  week: Load;
  fullRange: Load;
  rebuildS: number;
}

const log = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `npm run bench:reporting`: /stats from rollups against the seed's raw-table queries, on the same data in the
 * same run, at 1M and 10M events; then the consumer's write throughput with rollups on and off.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1m,10m' },
      requests: { type: 'string', default: '2000' },
      fresh: { type: 'boolean', default: false },
      'write-events': { type: 'string', default: '200000' },
      'skip-write': { type: 'boolean', default: false },
      // Generation of the 10m dataset takes longer than one bench slot: generate (and rebuild) in pieces.
      'generate-only': { type: 'boolean', default: false },
      'budget-s': { type: 'string', default: 'Infinity' },
      'skip-stats': { type: 'boolean', default: false },
      'skip-query': { type: 'boolean', default: false },
      'query-requests': { type: 'string', default: '40' },
      only: { type: 'string', default: '' },
      'filtered-30d': { type: 'string', default: 'visit:source,event:page' },
    },
  });
  const requests = Number(values.requests);
  log(`machine: ${machineLine()}`);
  log(`start: ${loadLine()}`);
  const results: SizeResult[] = [];
  for (const size of values.sizes.split(',').filter(Boolean)) {
    const events = Number(size.replace(/m$/i, '')) * 1_000_000;
    if (!Number.isFinite(events) || events <= 0) throw new Error(`bad size ${size}: use e.g. 1m,10m`);
    const spec = datasetSpec(events);
    const label = size.toLowerCase();
    if (values['generate-only']) {
      await prepareSize(label, spec, values.fresh, Number(values['budget-s']));
      continue;
    }
    const result = await benchSize(label, spec, requests, values.fresh, {
      stats: !values['skip-stats'], query: !values['skip-query'], queryRequests: Number(values['query-requests']), only: values.only, filtered30: values['filtered-30d'].split(','),
    });
    if (result) results.push(result);
  }

  // --sizes '' measures the write path alone.
  if (results.length > 0) reportSizes(results);

  if (!values['skip-write']) {
    log('\n## consumer write path (writeBatch, 1000-event batches, 2 partitions at a time): rollups and visits off vs on');
    const w = await measureWriteThroughput(Number(values['write-events']), 1000, log);
    log(`rollups off ${Math.round(w.off)} events/s, on ${Math.round(w.noVisits)} events/s: rollups cost ${((1 - w.noVisits / w.off) * 100).toFixed(0)}% of write throughput`);
    log(`visits off ${Math.round(w.noVisits)} events/s, on ${Math.round(w.on)} events/s: visits cost ${((1 - w.on / w.noVisits) * 100).toFixed(0)}% of write throughput`);
  }
  log(`end: ${loadLine()}`);
}

function reportSizes(results: SizeResult[]): void {
  log('\n## /stats from rollups vs the seed\'s raw queries');
  log('| dataset | seed raw queries (3, sequential) median / p99 | /stats day, 1 conn p50 / p99 | /stats day, 8 conns p50 / p99, req/s | small sites p50 / p99 | 7-day range p50 / p99 | full range p50 / p99 | rollup rebuild |');
  log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    log(
      `| ${r.label} | ${ms(median(r.rawMs))} / ${ms(quantile(r.rawMs, 0.99))} ms | ${ms(r.day1.p50)} / ${ms(r.day1.p99)} ms | ${ms(r.day8.p50)} / ${ms(r.day8.p99)} ms, ${Math.round(r.day8.rps)} | ` +
        `${ms(r.small.p50)} / ${ms(r.small.p99)} ms | ${ms(r.week.p50)} / ${ms(r.week.p99)} ms | ${ms(r.fullRange.p50)} / ${ms(r.fullRange.p99)} ms (${r.spec.days} days) | ${r.rebuildS.toFixed(0)} s |`,
    );
  }
  for (const r of results) log(`${r.label}: ratio ${(median(r.rawMs) / r.day1.p50).toFixed(0)} (seed raw median ÷ /stats p50, 1 connection)`);
  const headline = results[results.length - 1]!;
  log(`ratio ${(median(headline.rawMs) / headline.day1.p50).toFixed(0)}`);
  const small = results.find((r) => r.label === '1m');
  const large = results.find((r) => r.label === '10m');
  if (small && large) log(`p99 10m / p99 1m: ${(large.day1.p99 / small.day1.p99).toFixed(2)} (1 connection), ${(large.day8.p99 / small.day8.p99).toFixed(2)} (8 connections)`);
}

interface Parts {
  stats: boolean;
  query: boolean;
  queryRequests: number;
  only: string;
  filtered30: string[];
}

/**
 * The dataset generated (at most `budgetS` seconds of it: run again to resume) and, once complete, its rollups
 * and visits built with the admin command — once: a re-run reuses both. Answers the rebuild's seconds, or
 * undefined while days are missing.
 */
async function prepareSize(label: string, spec: DatasetSpec, fresh: boolean, budgetS: number): Promise<number | undefined> {
  const name = `sitestream_bench_reporting_${label}`;
  const { url, db } = await openBenchDatabase(name, { fresh });
  try {
    if (!(await hasDataset(db, spec))) {
      const started = process.hrtime.bigint();
      log(`generating ${name} …`);
      const complete = await generateDataset(db, spec, log, budgetS);
      log(`generated for ${(elapsed(started) / 1000).toFixed(0)} s${complete ? '' : ' (incomplete)'}`);
      await db.raw('DROP TABLE IF EXISTS bench.rebuilt');
      // In pieces (a finite budget), the rebuild is a piece of its own: the next run.
      if (!complete || Number.isFinite(budgetS)) return undefined;
    }
    await db.raw('CREATE TABLE IF NOT EXISTS bench.rebuilt (step TEXT PRIMARY KEY, seconds REAL NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())');
    // Built with the admin commands, as an operator would after loading raw events: the rollups and visits, then
    // the query API's per-day rows (what reporting's job keeps up to date).
    const steps: [string, string[]][] = [['rollups rebuild', ['rollups', 'rebuild', '--quiet']], ['build-query-days', ['rollups', 'build-query-days']]];
    let rebuildS = 0;
    for (const [step, args] of steps) {
      const done = await db.raw<{ rows: { seconds: number }[] }>('SELECT seconds FROM bench.rebuilt WHERE step = ?', [step]);
      let seconds = done.rows[0]?.seconds ?? NaN;
      if (done.rows.length > 0) {
        log(`${step}: done before, in ${seconds.toFixed(0)} s`);
      } else {
        const started = process.hrtime.bigint();
        log((await runNode(resolve(ROOT, 'infra', 'dist', 'admin', 'cli.js'), args, { DATABASE_URL: url })).trim());
        seconds = elapsed(started) / 1000;
        log(`${step}: ${seconds.toFixed(0)} s`);
        await db.raw('VACUUM ANALYZE');
        await db.raw('INSERT INTO bench.rebuilt (step, seconds) VALUES (?, ?)', [step, seconds]);
        if (Number.isFinite(budgetS)) return undefined;
      }
      if (step === 'rollups rebuild') rebuildS = seconds;
    }
    return rebuildS;
  } finally {
    await db.destroy();
  }
}

async function benchSize(label: string, spec: DatasetSpec, requests: number, fresh: boolean, parts: Parts): Promise<SizeResult | undefined> {
  const name = `sitestream_bench_reporting_${label}`;
  log(`\n== ${label}: ${spec.days} days, big site ${spec.bigVisits} visits/day, ${spec.smallSites} small sites (database ${name})`);
  const rebuildS = await prepareSize(label, spec, fresh, Infinity);
  if (rebuildS === undefined) throw new Error('dataset incomplete');
  const { url, db } = await openBenchDatabase(name);
  try {
    const stats = await db.raw<{ rows: { t: string; n: number; size: string }[] }>(
      `SELECT relname AS t, n_live_tup AS n, pg_size_pretty(pg_total_relation_size(relid)) AS size FROM pg_stat_user_tables
       WHERE schemaname = 'analytics' AND n_live_tup > 0 ORDER BY relname`,
    );
    log(`tables: ${stats.rows.map((r) => `${r.t} ${r.n} rows ${r.size}`).join(', ')}`);

    const { key } = await createApiKey(db, { name: 'bench' });
    const port = await freePort();
    const reporting = startService('reporting', {
      DATABASE_URL: url,
      HOST: '127.0.0.1',
      REPORTING_PORT: String(port),
      REPORTING_RATE_LIMIT_PER_MINUTE: String(1e9),
      REPORTING_STATEMENT_TIMEOUT_MS: '60000',
      // The bench built the per-day rows itself (build-query-days, timed); no job competes with the measurements.
      REPORTING_QUERY_ROLLUP_INTERVAL_MS: '0',
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitReady(base);
      const days = Array.from({ length: spec.days }, (_, i) => dayOf(spec, i));
      if (parts.query) await benchQueries({ base, key, url, site: BIG_SITE, days, requests: parts.queryRequests, only: parts.only, filtered30: parts.filtered30, log });
      if (!parts.stats) return undefined;
      return { label, spec, rebuildS, ...(await benchStats(base, key, url, days, requests)) };
    } finally {
      await reporting.stop();
    }
  } finally {
    await db.destroy();
  }
}

async function benchStats(base: string, key: string, url: string, days: string[], requests: number): Promise<Omit<SizeResult, 'label' | 'spec' | 'rebuildS'>> {
  const raw = await timeSeedQueries(url, BIG_SITE, Array.from({ length: Math.max(5, days.length) }, (_, i) => days[i % days.length]!));
  const check = (await (await fetch(`${base}/stats?site_id=${BIG_SITE}&date=${days[0]}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
    total_views: number;
    unique_users: number;
    top_paths: { path: string; views: number }[];
  };
  const same = check.total_views === raw.first.totalViews && check.unique_users === raw.first.uniqueUsers && JSON.stringify(check.top_paths.map((p) => p.views)) === JSON.stringify(raw.first.topPaths.map((p) => p.views));
  log(`check: /stats ${days[0]} total_views ${check.total_views} unique_users ${check.unique_users} — seed queries ${raw.first.totalViews} / ${raw.first.uniqueUsers}: ${same ? 'same' : 'DIFFERENT'}`);
  if (!same) throw new Error('/stats and the seed queries disagree');
  log(`seed raw queries: median ${ms(median(raw.runs))} ms over ${raw.runs.length} runs (${raw.runs.map(ms).join(', ')})`);

  const load = async (what: string, paths: string[], amount: number, connections: number): Promise<Load> => {
    const script = resolve(__dirname, 'load-stats.js');
    const result = JSON.parse(await runNode(script, [base, key, String(amount), String(connections), ...paths])) as Load;
    if (result.non2xx > 0 || result.errors > 0) log(`  WARNING ${what}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    log(`  ${what}: ${result.requests} requests, ${connections} conn: p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms, max ${ms(result.max)} ms, ${Math.round(result.rps)} req/s`);
    return result;
  };
  const bigDays = days.map((d) => `/stats?site_id=${BIG_SITE}&date=${d}`);
  await load('warm-up', bigDays, 200, 4);
  const day1 = await load('/stats big site, one day', bigDays, requests, 1);
  const day8 = await load('/stats big site, one day', bigDays, requests, 8);
  const smallPaths = Array.from({ length: 50 }, (_, i) => `/stats?site_id=site-${String(i * 7).padStart(4, '0')}&date=${days[i % days.length]}`);
  const small = await load('/stats small sites, one day', smallPaths, requests, 1);
  const week = await load('/stats big site, 7-day range', [`/stats?site_id=${BIG_SITE}&from=${days[0]}&to=${days[6 % days.length]}`], 50, 1);
  const fullRange = await load(`/stats big site, ${days.length}-day range`, [`/stats?site_id=${BIG_SITE}&from=${days[0]}&to=${days[days.length - 1]}`], 50, 1);
  return { rawMs: raw.runs, day1, day8, small, week, fullRange };
}

main().catch((err: unknown) => {
  console.error('bench:reporting failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
