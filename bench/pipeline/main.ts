import { mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadLine, machineLine, ms, quantile } from '../reporting/lib/measure';
import { runNode } from '../reporting/lib/processes';
import { readConsumerCounters, describeConsumer } from './consumer-metrics';
import { copyCeiling, insertCeiling } from './copy-ceiling';
import { cpuPerEvent, cpuShares, sampleCpu } from './cpu';
import type { LoadSummary } from './lib/load-process';
import { leastSquaresSlope } from './lib/slope';
import { startPipelineSystem } from './lib/system';
import { topFunctions } from './profile';

const log = (line: string) => process.stdout.write(`${line}\n`);

interface StepResult {
  rate: number;
  load: LoadSummary;
  consumerRate: number;
  lagSlope: number;
  finalLag: number;
  maxLag: number;
  sustained: boolean;
  cpu: string;
  /** CPU µs per stored event, per component and for the whole machine. */
  perEvent: { line: string; machineUs: number };
  consumerView: string;
}

/**
 * `npm run bench:pipeline`: sustained load through ingest → Kafka → consumer (with rollups) → PostgreSQL at
 * stepped rates; freshness (202 → visible in /stats) at 5k events/s; and a plain COPY of the same rows as the
 * write ceiling. Everything runs on this machine: a local Kafka broker, the three services as processes, the
 * load generator as another process, a bench database of its own.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '5000,10000,20000,30000' },
      seconds: { type: 'string', default: '60' },
      batch: { type: 'string', default: '100' },
      sites: { type: 'string', default: '500' },
      'freshness-rate': { type: 'string', default: '5000' },
      profile: { type: 'boolean', default: false },
      // "off": the bench drops every row headed for the visit tables (see bench/reporting/lib/drop-rows.ts), to measure their cost.
      visits: { type: 'string', default: 'on' },
    },
  });
  if (values.visits !== 'on' && values.visits !== 'off') throw new Error('--visits is on or off');
  const rates = values.rates.split(',').map(Number);
  const seconds = Number(values.seconds);
  const freshnessRate = Number(values['freshness-rate']);
  log(`machine: ${machineLine()}`);
  log(`start: ${loadLine()}`);
  log(`steps: ${rates.join(', ')} events/s × ${seconds} s, POST /events with ${values.batch} events each, ${values.sites} sites spread evenly, visits ${values.visits}`);

  const profileDir = join(tmpdir(), `sitestream-bench-profile-${Date.now()}`);
  if (values.profile) mkdirSync(profileDir, { recursive: true });
  const system = await startPipelineSystem({
    database: 'sitestream_bench_pipeline',
    visits: values.visits === 'on',
    consumerNodeArgs: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  try {
    const { url, db, ingestUrl, reportingUrl, key, positions } = system;
    const { ingest, consumer, reporting } = system.services;
    const pids = { ingest: ingest.child.pid, consumer: consumer.child.pid, reporting: reporting.child.pid, kafka: system.kafka.brokers[0]?.child.pid };

    const steps: StepResult[] = [];
    let freshness: number[] = [];
    for (const rate of rates) {
      log(`\n== ${rate} events/s for ${seconds} s`);
      const loadScript = resolve(__dirname, 'load.js');
      const cpuBefore = sampleCpu({ ...pids });
      const countersBefore = await readConsumerCounters(system.consumerMetricsUrl);
      const loadRun = runNode(loadScript, [ingestUrl, String(rate), String(seconds), values.batch, values.sites]);
      const probes = rate === freshnessRate ? measureFreshness(ingestUrl, reportingUrl, key, seconds * 1000) : Promise.resolve([]);
      const samples: { t: number; lag: number; stored: number }[] = [];
      const started = performance.now();
      let done = false;
      void loadRun.finally(() => (done = true));
      while (!done) {
        const p = await positions();
        samples.push({ t: (p.at - started) / 1000, lag: p.high - p.stored, stored: p.stored });
        await new Promise((r) => setTimeout(r, 1000));
      }
      const load = JSON.parse(await loadRun) as LoadSummary;
      const cpuAfter = sampleCpu({ ...pids });
      const countersAfter = await readConsumerCounters(system.consumerMetricsUrl);
      if (rate === freshnessRate) freshness = await probes;
      const stepSeconds = (performance.now() - started) / 1000;
      const perEvent = cpuPerEvent(cpuBefore, cpuAfter, samples[samples.length - 1]!.stored - samples[0]!.stored);
      const step = summarizeStep(rate, load, samples, cpuShares(cpuBefore, cpuAfter, stepSeconds), perEvent, describeConsumer(countersBefore, countersAfter, stepSeconds));
      steps.push(step);
      log(
        `load: ${Math.round(load.achievedRate)} events/s accepted of ${rate} (${load.sent} sent, ${load.skipped} not sent: generator at its in-flight cap, ${load.failedRequests} failed, statuses ${JSON.stringify(load.statuses)}), POST p50 ${ms(load.p50)} ms p99 ${ms(load.p99)} ms`,
      );
      log(`consumer: ${Math.round(step.consumerRate)} events/s; lag slope ${step.lagSlope.toFixed(0)} events/s over the 2nd half, final ${step.finalLag}, max ${step.maxLag} → ${step.sustained ? 'SUSTAINED' : 'not sustained'}`);
      log(`cpu (cores): ${step.cpu}`);
      log(`cpu per stored event (µs): ${step.perEvent.line}`);
      log(`consumer metrics: ${step.consumerView}`);
      if (rate === freshnessRate) log(`freshness (202 → visible in /stats): ${freshness.length} probes, p50 ${ms(quantile(freshness, 0.5))} ms, p99 ${ms(quantile(freshness, 0.99))} ms, max ${ms(Math.max(...freshness))} ms`);
      // Let the consumer catch up before the next step, so each step starts from zero lag.
      const drainStart = performance.now();
      for (let p = await positions(); p.high - p.stored > 0 && performance.now() - drainStart < 600_000; p = await positions()) {
        await new Promise((r) => setTimeout(r, 500));
      }
      log(`drained in ${((performance.now() - drainStart) / 1000).toFixed(1)} s`);
    }

    const stored = Number((await db.raw<{ rows: { n: number }[] }>('SELECT count(*) AS n FROM analytics.website_events')).rows[0]!.n);
    log(`\n== COPY ceiling: the same rows (the first ${Math.min(stored, 1_000_000)} stored), COPY into a scratch table`);
    const copy = await copyCeiling(url, Math.min(stored, 1_000_000), 'plain');
    log(`COPY, plain table: ${copy.rows} rows in ${copy.seconds.toFixed(2)} s = ${Math.round(copy.rowsPerSecond)} rows/s`);
    const copyIndexed = await copyCeiling(url, Math.min(stored, 1_000_000), 'indexed');
    log(`COPY, table shaped like analytics.website_events (identity + 2 indexes): ${copyIndexed.rows} rows in ${copyIndexed.seconds.toFixed(2)} s = ${Math.round(copyIndexed.rowsPerSecond)} rows/s`);
    const inserted = await insertCeiling(url, Math.min(stored, 1_000_000));
    log(`INSERT … ON CONFLICT DO NOTHING into the same indexed table, 1,000 rows a transaction (the consumer's raw insert alone): ${inserted.rows} rows in ${inserted.seconds.toFixed(2)} s = ${Math.round(inserted.rowsPerSecond)} rows/s`);

    const best = steps.filter((s) => s.sustained).sort((a, b) => b.rate - a.rate)[0];
    const fastestConsumer = Math.max(...steps.map((s) => s.consumerRate));
    log('\n## pipeline');
    log('| target events/s | accepted events/s | consumer events/s | lag slope (events/s) | final lag | sustained | POST /events p50 / p99 |');
    log('|---|---|---|---|---|---|---|');
    for (const s of steps) {
      log(`| ${s.rate} | ${Math.round(s.load.achievedRate)} | ${Math.round(s.consumerRate)} | ${s.lagSlope.toFixed(0)} | ${s.finalLag} | ${s.sustained ? 'yes' : 'no'} | ${ms(s.load.p50)} / ${ms(s.load.p99)} ms |`);
    }
    log(`highest sustained rate: ${best ? `${best.rate} events/s (consumer ${Math.round(best.consumerRate)} events/s)` : 'none of the steps'}`);
    // The whole machine's CPU per event where the pipeline keeps up: 2 cores ÷ that is what these costs allow.
    if (best) log(`CPU budget at ${best.rate} events/s: ${best.perEvent.line} µs per event → ${cpus().length} cores carry ${Math.round((cpus().length * 1e6) / best.perEvent.machineUs)} events/s at these costs`);
    if (freshness.length > 0) log(`freshness at ${freshnessRate} events/s: p50 ${ms(quantile(freshness, 0.5))} ms, p99 ${ms(quantile(freshness, 0.99))} ms`);
    log(`COPY ceiling ${Math.round(copy.rowsPerSecond)} rows/s (plain table), ${Math.round(copyIndexed.rowsPerSecond)} rows/s (indexed like website_events)`);
    log(`consumer ÷ COPY ${(fastestConsumer / copy.rowsPerSecond).toFixed(2)} (fastest consumer step ${Math.round(fastestConsumer)} events/s; ÷ indexed COPY ${(fastestConsumer / copyIndexed.rowsPerSecond).toFixed(2)})`);
    log(`raw INSERT alone ÷ indexed COPY ${(inserted.rowsPerSecond / copyIndexed.rowsPerSecond).toFixed(2)} (${Math.round(inserted.rowsPerSecond)} rows/s): the statement shape's share of the gap, before rollups and visits`);
  } finally {
    await system.stop();
  }
  if (values.profile) {
    log(`\n## consumer CPU profile (self time, whole run; ${profileDir})`);
    for (const line of topFunctions(profileDir)) log(line);
  }
  log(`end: ${loadLine()}`);
}

/**
 * Lag is flat when, over the second half of the step, it grows by less than 2% of the offered rate per second
 * and ends below one second's worth of events; and the load generator really offered ≥ 95% of the rate.
 */
function summarizeStep(rate: number, load: LoadSummary, samples: { t: number; lag: number; stored: number }[], cpu: string, perEvent: StepResult['perEvent'], consumerView: string): StepResult {
  const half = samples.filter((s) => s.t >= samples[samples.length - 1]!.t / 2);
  const slope = leastSquaresSlope(half.map((s) => [s.t, s.lag]));
  const warm = samples.filter((s) => s.t >= 5);
  const first = warm[0] ?? samples[0]!;
  const last = samples[samples.length - 1]!;
  const consumerRate = (last.stored - first.stored) / Math.max(1e-9, last.t - first.t);
  const finalLag = last.lag;
  const maxLag = Math.max(...samples.map((s) => s.lag));
  const sustained = load.achievedRate >= 0.95 * rate && slope < 0.02 * rate && finalLag < rate;
  return { rate, load, consumerRate, lagSlope: slope, finalLag, maxLag, sustained, cpu, perEvent, consumerView };
}

/**
 * Every 500 ms, one event for a site of its own; the time from ingest's 202 until /stats counts it.
 * /stats is polled every 20 ms (the resolution of the measurement).
 */
async function measureFreshness(ingestUrl: string, reportingUrl: string, key: string, durationMs: number): Promise<number[]> {
  const results: Promise<number>[] = [];
  const runId = Date.now().toString(36);
  const end = performance.now() + durationMs;
  for (let n = 0; performance.now() < end; n++) {
    results.push(probe(ingestUrl, reportingUrl, key, `probe-${runId}-${n}`));
    await new Promise((r) => setTimeout(r, 500));
  }
  return (await Promise.all(results)).filter((v) => Number.isFinite(v));
}

async function probe(ingestUrl: string, reportingUrl: string, key: string, site: string): Promise<number> {
  const timestamp = new Date().toISOString();
  const res = await fetch(`${ingestUrl}/event`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ site_id: site, event_type: 'page_view', path: '/probe', user_id: 'probe', timestamp }),
  });
  if (res.status !== 202) return NaN;
  const accepted = performance.now();
  const deadline = accepted + 60_000;
  while (performance.now() < deadline) {
    const stats = await fetch(`${reportingUrl}/stats?site_id=${site}&date=${timestamp.slice(0, 10)}`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await stats.json()) as { total_events?: number };
    if (body.total_events === 1) return performance.now() - accepted;
    await new Promise((r) => setTimeout(r, 20));
  }
  return NaN;
}

main().catch((err: unknown) => {
  console.error('bench:pipeline failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
