import type { PollerCounts } from './dashboard-poller';
import type { NodeMemory } from '../consumer-metrics';
import type { LoadSummary } from './load-process';
import type { BackendGroup, Rss } from './rss';
import { leastSquaresSlope } from './slope';

/** One 10-second sample: seconds since the load started; each process's memory (null: it has exited; the last sample, after the load, has no load generator). */
export interface SoakSample {
  t: number;
  rss: Record<string, Rss | BackendGroup | null>;
  lag: number;
  load: LoadSummary | null;
  poller: PollerCounts;
  /** The consumer's own account of its memory (absent in runs before it was sampled; null: not answering). */
  consumerMemory?: NodeMemory | null;
}

/** One 1-second lag sample (Kafka end offsets − the positions stored in PostgreSQL, summed over partitions). */
export interface LagSample {
  t: number;
  lag: number;
}

export interface SoakRun {
  rate: number;
  minutes: number;
  warmupMinutes: number;
  samples: SoakSample[];
  lagSamples: LagSample[];
  load: LoadSummary;
  poller: PollerCounts;
}

/**
 * The targets of issue 16, made precise:
 * - memory: per process, the least-squares slope of VmRSS over the samples after the warm-up is < 1 MB/min
 *   (MB = 2^20 bytes);
 * - lag flat: its least-squares slope over the 1-second samples after the warm-up is ≤ 1% of the rate per minute
 *   (at 7,000 events/s: ≤ 4,200 records/min, i.e. the consumer falls behind by at most 1% of what arrives), and
 *   the final lag (median of the last 10 one-second samples before the load stopped) is < one second of events;
 * - no error answers: over the whole run, every request of the load and of the dashboards answered 2xx — no
 *   4xx, 5xx, connection error or timeout.
 * And for the soak to count at all: the generator got ≥ 95% of the rate accepted.
 */
export const TARGETS = { rssSlopeMbPerMin: 1, lagSlopeShareOfRatePerMin: 0.01, finalLagSeconds: 1, offeredShare: 0.95 } as const;

const MB = 1024; // kB per MB (VmRSS is in kB)
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fix = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export interface ProcessVerdict {
  name: string;
  startMb: number;
  endMb: number;
  slope: number;
  anonSlope: number;
  backends?: string;
  verdict: 'flat' | 'grows' | 'exited' | 'n/a';
}

export function processVerdicts(run: SoakRun): ProcessVerdict[] {
  const warm = run.warmupMinutes * 60;
  const names = [...new Set(run.samples.flatMap((s) => Object.keys(s.rss)))];
  return names.map((name) => {
    const after = run.samples.filter((s) => s.t >= warm);
    const present = after.filter((s) => s.rss[name]);
    // null: the process was sampled and had gone; a sample without the name did not look for it.
    const points = (pick: (r: Rss) => number) => present.map((s) => [s.t / 60, pick(s.rss[name]!) / MB] as const);
    const slope = leastSquaresSlope(points((r) => r.rss));
    const first = present[0]?.rss[name];
    const last = present[present.length - 1]?.rss[name];
    const counts = present.map((s) => (s.rss[name] as BackendGroup).backends).filter((n) => n !== undefined);
    const verdict = after.some((s) => s.rss[name] === null) ? 'exited' : !Number.isFinite(slope) ? 'n/a' : slope < TARGETS.rssSlopeMbPerMin ? 'flat' : 'grows';
    return {
      name,
      startMb: first ? first.rss / MB : NaN,
      endMb: last ? last.rss / MB : NaN,
      slope,
      anonSlope: leastSquaresSlope(points((r) => r.anon)),
      ...(counts.length > 0 ? { backends: `${Math.min(...counts)}–${Math.max(...counts)}` } : {}),
      verdict,
    };
  });
}

export function lagVerdict(run: SoakRun): { slope: number; max: number; maxWhole: number; final: number; flat: boolean } {
  const warm = run.warmupMinutes * 60;
  const after = run.lagSamples.filter((s) => s.t >= warm);
  const slope = leastSquaresSlope(after.map((s) => [s.t / 60, s.lag]));
  const lastTen = run.lagSamples.slice(-10).map((s) => s.lag).sort((a, b) => a - b);
  const final = lastTen.length > 0 ? lastTen[Math.floor((lastTen.length - 1) / 2)]! : NaN;
  const flat = slope <= TARGETS.lagSlopeShareOfRatePerMin * run.rate * 60 && final < TARGETS.finalLagSeconds * run.rate;
  return { slope, max: Math.max(...after.map((s) => s.lag)), maxWhole: Math.max(...run.lagSamples.map((s) => s.lag)), final, flat };
}

function errorsOf(c: { classes: Record<string, number>; connectionErrors: number; timeouts: number }): number {
  return Object.entries(c.classes).reduce((n, [cls, v]) => n + (cls === '2xx' ? 0 : v), 0) + c.connectionErrors + c.timeouts;
}

function answers(c: { classes: Record<string, number>; statuses: Record<string, number>; connectionErrors: number; timeouts: number }): string {
  const other = Object.entries(c.statuses).filter(([s]) => !s.startsWith('2')).map(([s, v]) => `${s}: ${int(v)}`);
  return (
    `2xx ${int(c.classes['2xx'] ?? 0)}; 4xx ${int(c.classes['4xx'] ?? 0)}; 5xx ${int(c.classes['5xx'] ?? 0)}; ` +
    `connection errors ${int(c.connectionErrors)}; timeouts ${int(c.timeouts)}${other.length > 0 ? ` (${other.join(', ')})` : ''}`
  );
}

/** The markdown the soak prints (and BENCHMARKS.md quotes): the verdict table, then RSS minute by minute. */
export function soakReport(run: SoakRun): string[] {
  const warm = run.warmupMinutes * 60;
  const after = run.samples.filter((s) => s.t >= warm).length;
  const lag = lagVerdict(run);
  const lines = [
    `## soak: ${int(run.rate)} events/s × ${run.minutes} min, warm-up ${run.warmupMinutes} min (${after} samples of 10 s after it)`,
    '',
    '| measure | after the warm-up | target | verdict |',
    '|---|---|---|---|',
  ];
  for (const p of processVerdicts(run)) {
    const backends = p.backends ? `, ${p.backends} backends` : '';
    lines.push(
      `| RSS ${p.name} | ${fix(p.startMb, 1)} → ${fix(p.endMb, 1)} MB, slope **${fix(p.slope)} MB/min** (private ${fix(p.anonSlope)})${backends} | < ${TARGETS.rssSlopeMbPerMin} MB/min | ${p.verdict} |`,
    );
  }
  lines.push(
    `| consumer lag | slope **${int(lag.slope)} records/min**; max ${int(lag.max)} (whole run ${int(lag.maxWhole)}); final ${int(lag.final)} | slope ≤ ${int(TARGETS.lagSlopeShareOfRatePerMin * run.rate * 60)} records/min, final < ${int(TARGETS.finalLagSeconds * run.rate)} | ${lag.flat ? 'flat' : 'not flat'} |`,
  );
  const endpoints: [string, { classes: Record<string, number>; statuses: Record<string, number>; connectionErrors: number; timeouts: number }][] = [
    ['ingest answers (POST /event, /events)', run.load],
    ['GET /stats answers', run.poller.stats],
    ['POST /api/v2/query answers', run.poller.query],
  ];
  for (const [name, c] of endpoints) lines.push(`| ${name}, whole run | ${answers(c)} | all 2xx | ${errorsOf(c) === 0 ? 'none' : `**${int(errorsOf(c))} errors**`} |`);
  const offered = run.load.achievedRate / run.rate;
  lines.push(
    `| load offered, whole run | ${int(run.load.achievedRate)} events/s accepted (${int(run.load.skipped)} events not sent: generator at its in-flight cap); POST p50 ${fix(run.load.p50, 1)} / p99 ${fix(run.load.p99, 1)} ms | ≥ ${TARGETS.offeredShare * 100}% of ${int(run.rate)} | ${offered >= TARGETS.offeredShare ? 'held' : 'not held'} |`,
    '',
    consumerMemoryLine(run),
    `dashboards: ${int(run.poller.stats.requests)} polls (${int(run.poller.skippedTicks)} ticks skipped while the previous poll was unanswered); /stats p50 ${fix(run.poller.stats.p50, 1)} / p99 ${fix(run.poller.stats.p99, 1)} ms, /api/v2/query p50 ${fix(run.poller.query.p50, 1)} / p99 ${fix(run.poller.query.p99, 1)} ms`,
    '',
    ...rssByMinute(run),
  );
  return lines;
}

/** Where the consumer's RSS goes: the V8 heap in use (JS objects) or memory outside it (Buffers). */
function consumerMemoryLine(run: SoakRun): string {
  const after = run.samples.filter((s) => s.t >= run.warmupMinutes * 60 && s.consumerMemory);
  if (after.length < 2) return 'consumer memory: not sampled';
  const slope = (pick: (m: NodeMemory) => number) => fix(leastSquaresSlope(after.map((s) => [s.t / 60, pick(s.consumerMemory!)] as const)));
  const first = after[0]!.consumerMemory!;
  const last = after[after.length - 1]!.consumerMemory!;
  return (
    `consumer memory after the warm-up (its /metrics): V8 heap used ${fix(first.heapUsedMb, 1)} → ${fix(last.heapUsedMb, 1)} MB (slope ${slope((m) => m.heapUsedMb)} MB/min), ` +
    `V8 heap committed ${fix(first.heapTotalMb, 1)} → ${fix(last.heapTotalMb, 1)} MB (slope ${slope((m) => m.heapTotalMb ?? NaN)} MB/min), ` +
    `external ${fix(first.externalMb, 1)} → ${fix(last.externalMb, 1)} MB (slope ${slope((m) => m.externalMb)} MB/min)\n`
  );
}

function rssByMinute(run: SoakRun): string[] {
  const minutes = Array.from({ length: Math.floor(run.minutes) + 1 }, (_, m) => m);
  const names = [...new Set(run.samples.flatMap((s) => Object.keys(s.rss)))];
  const at = (m: number) => run.samples.reduce((best, s) => (Math.abs(s.t - 60 * m) < Math.abs(best.t - 60 * m) ? s : best));
  const lines = [`| VmRSS (MB) at minute | ${minutes.join(' | ')} |`, `|---|${minutes.map(() => '---').join('|')}|`];
  for (const name of names) lines.push(`| ${name} | ${minutes.map((m) => fix((at(m).rss[name]?.rss ?? NaN) / MB, 0)).join(' | ')} |`);
  lines.push(`| consumer lag (records) | ${minutes.map((m) => int(at(m).lag)).join(' | ')} |`);
  return lines;
}

