import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { loadLine, machineLine } from '../reporting/lib/measure';
import { ROOT } from '../reporting/lib/processes';
import { readConsumerCounters, readNodeMemory } from './consumer-metrics';
import { cpuShares, sampleCpu, type CpuSample } from './cpu';
import { startDashboardPoller } from './lib/dashboard-poller';
import { startLoad } from './lib/load-process';
import { backendRss, readRss } from './lib/rss';
import { soakReport, type LagSample, type SoakRun, type SoakSample } from './lib/soak-report';
import { startPipelineSystem } from './lib/system';

const log = (line: string) => process.stdout.write(`${line}\n`);
const DATABASE = 'sitestream_bench_soak';
const SAMPLE_MS = 10_000;

/**
 * `npm run bench:soak` (issue 16): the whole system under a steady load for minutes — ingest, Kafka, consumer
 * (rollups and visits on), reporting with its background job — while dashboards poll it; every 10 s the RSS of
 * every process and the consumer lag are sampled. After the warm-up it prints, per process, the RSS slope, the
 * lag slope, and every answer that was not a 2xx, against the targets (lib/soak-report.ts), and writes the raw
 * samples to bench/pipeline/results/. A missed target is a result, not a failure: only a crash of the tooling
 * exits nonzero.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '7000' },
      minutes: { type: 'string', default: '10' },
      'warmup-min': { type: 'string', default: '2' },
      batch: { type: 'string', default: '100' },
      sites: { type: 'string', default: '500' },
      // Browsers send one event per request, relays send batches: a tenth of the events come one by one.
      'single-share': { type: 'string', default: '0.1' },
      out: { type: 'string' },
      // Two V8 heap snapshots of the consumer, at the end of the warm-up and 15 s before the load ends, written
      // to bench/pipeline/results/ (compare them with bench/pipeline/dist/pipeline/heap-diff.js).
      'heap-snapshots': { type: 'boolean', default: false },
    },
  });
  const rate = Number(values.rate);
  const minutes = Number(values.minutes);
  const warmupMinutes = Number(values['warmup-min']);
  if (!(rate > 0) || !(minutes > 0) || !(warmupMinutes >= 0 && warmupMinutes < minutes)) throw new Error('--rate > 0, --minutes > 0, 0 ≤ --warmup-min < --minutes');
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const startedAt = new Date().toISOString();
  const loadBefore = loadLine();
  log(`machine: ${machineLine()}`);
  log(`start: ${startedAt}, commit ${commit}, ${loadBefore}`);
  log(
    `soak: ${rate} events/s for ${minutes} min (warm-up ${warmupMinutes} min), ${Number(values['single-share']) * 100}% of the events as single POST /event, ` +
      `the rest as POST /events of ${values.batch}, with context, ${values.sites} sites; dashboards poll GET /stats and POST /api/v2/query once a second`,
  );

  const resultsDir = join(ROOT, 'bench', 'pipeline', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const system = await startPipelineSystem({
    database: DATABASE,
    ...(values['heap-snapshots'] ? { consumerNodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${resultsDir}`] } : {}),
    // The singles come "through one proxy" with the visitor's address; the default rate limit of the reporting key.
    env: { TRUST_PROXY_HOPS: '1', REPORTING_RATE_LIMIT_PER_MINUTE: '600' },
  });
  try {
    const { ingest, consumer, reporting } = system.services;
    const load = startLoad([
      system.ingestUrl, String(rate), String(minutes * 60), values.batch, values.sites,
      '--single-share', values['single-share'], '--context', '--progress-ms', '1000', '--timeout-ms', '10000',
    ]);
    const started = performance.now();
    const poller = startDashboardPoller({ reportingUrl: system.reportingUrl, key: system.key, sites: 5 });
    const pids: Record<string, number | undefined> = {
      ingest: ingest.child.pid,
      consumer: consumer.child.pid,
      reporting: reporting.child.pid,
      'Kafka (JVM)': system.kafka.brokers[0]?.child.pid,
      'load generator': load.child.pid,
    };
    const samples: SoakSample[] = [];
    const lagSamples: LagSample[] = [];
    const seconds = () => (performance.now() - started) / 1000;
    const sample = async (lag: number) => {
      const rss: SoakSample['rss'] = {};
      for (const [name, pid] of Object.entries(pids)) rss[name] = readRss(pid) ?? null;
      const pg = await backendRss(system.db, DATABASE, { consumer: ['sitestream-consumer'], reporting: ['sitestream-reporting', 'sitestream-query-rollups'] });
      rss['PostgreSQL: consumer backends'] = pg.consumer!;
      rss['PostgreSQL: reporting backends'] = pg.reporting!;
      const consumerMemory = await readNodeMemory(system.consumerMetricsUrl);
      const s: SoakSample = { t: seconds(), rss, lag, load: load.latest() ?? null, poller: poller.counts(), consumerMemory };
      samples.push(s);
      const mb = (name: string) => ((s.rss[name]?.rss ?? NaN) / 1024).toFixed(0);
      log(`t=${s.t.toFixed(0)}s lag ${lag}, RSS MB: ${Object.keys(rss).map((n) => `${n} ${mb(n)}`).join(', ')}; load 2xx ${s.load?.classes['2xx'] ?? 0}, not answered yet or not 2xx ${(s.load?.requests ?? 0) - (s.load?.classes['2xx'] ?? 0)}`);
    };

    let cpuWarm: { at: number; cpu: CpuSample } | undefined;
    let cpuLast: { at: number; cpu: CpuSample } | undefined;
    let loading = true;
    const loadDone = load.done.finally(() => (loading = false));
    let nextSample = 0;
    const snapshotsAt = values['heap-snapshots'] ? [warmupMinutes * 60, minutes * 60 - 15] : [];
    while (loading) {
      if (snapshotsAt.length > 0 && seconds() >= snapshotsAt[0]!) {
        snapshotsAt.shift();
        log(`t=${seconds().toFixed(0)}s consumer heap snapshot requested (SIGUSR2)`);
        consumer.child.kill('SIGUSR2');
      }
      const p = await system.positions();
      const lag = p.high - p.stored;
      lagSamples.push({ t: seconds(), lag });
      if (performance.now() - started >= nextSample) {
        await sample(lag);
        nextSample += SAMPLE_MS;
      }
      if (!cpuWarm && seconds() >= warmupMinutes * 60) cpuWarm = { at: seconds(), cpu: sampleCpu({ ...pids }) };
      else if (cpuWarm && load.child.exitCode === null) cpuLast = { at: seconds(), cpu: sampleCpu({ ...pids }) };
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), loadDone.catch(() => undefined)]);
    }
    const finalLoad = await loadDone;
    // CPU from the warm-up to the last sample taken while the generator still ran (it has exited now).
    const cpuSeconds = (cpuLast?.at ?? 0) - (cpuWarm?.at ?? 0);
    // The generator has exited now: the last sample leaves it out rather than count it as a crash.
    delete pids['load generator'];
    await sample(lagSamples[lagSamples.length - 1]?.lag ?? NaN);
    await poller.stop();
    const pollerCounts = poller.counts();
    const counters = await readConsumerCounters(system.consumerMetricsUrl);

    // How long the consumer takes to store the last records once the load stops: a backlog shows here.
    const drainStart = performance.now();
    let drained = NaN;
    for (let p = await system.positions(); performance.now() - drainStart < 120_000; p = await system.positions()) {
      if (p.high - p.stored === 0) {
        drained = (performance.now() - drainStart) / 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const loadAfter = loadLine();
    const run: SoakRun = { rate, minutes, warmupMinutes, samples, lagSamples, load: finalLoad, poller: pollerCounts };
    log('');
    for (const line of soakReport(run)) log(line);
    log('');
    log(`cpu (cores) after the warm-up: ${cpuWarm && cpuLast ? cpuShares(cpuWarm.cpu, cpuLast.cpu, cpuSeconds) : 'n/a'} (postgres: every postgres process on the machine)`);
    log(`consumer: ${counters.batchesOk} batches ok, ${counters.batchesError} failed, ${counters.retries} retries, ${counters.deadLettered} dead-lettered; lag 0 ${Number.isFinite(drained) ? `${drained.toFixed(1)} s after the load stopped` : 'not reached within 120 s of the load stopping'}`);
    const exits = Object.values(system.services).filter((s) => s.child.exitCode !== null || s.child.signalCode !== null);
    for (const s of exits) log(`${s.name} EXITED during the soak (code ${s.child.exitCode}, signal ${s.child.signalCode}):\n${s.output()}`);
    log(`end: ${new Date().toISOString()}, ${loadAfter}`);

    const out = values.out ?? join(resultsDir, `soak-${startedAt.replace(/[:.]/g, '-')}.json`);
    const record = { startedAt, commit, machine: machineLine(), loadBefore, loadAfter, options: values, consumer: counters, drainedSeconds: drained, ...run };
    writeFileSync(out, `${JSON.stringify(record)}\n`);
    log(`raw samples: ${relative(process.cwd(), out)}`);
  } finally {
    await system.stop();
  }
}

main().catch((err: unknown) => {
  console.error('bench:soak failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
