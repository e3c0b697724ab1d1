import { CONNECTIONS, DURATION_S, WARMUP_S, type Run } from './load';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The sequential runs; the first is the ceiling every ratio is taken against. */
export function printTable(runs: Run[]): void {
  const ceiling = runs[0]!.ok / runs[0]!.seconds;
  console.log(`\n${CONNECTIONS} connections, ${DURATION_S} s per run after ${WARMUP_S} s of warm-up; only 2xx answers count\n`);
  console.log('| run | req/s | events/s | p50 ms | p99 ms | non-2xx/errors | events/s ÷ ceiling | server CPU µs/event | broker CPU µs/event |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const us = (v: number | undefined, r: Run) => (v === undefined ? '–' : (v / r.eventsPerRequest).toFixed(1));
  for (const r of runs) {
    const rps = r.ok / r.seconds;
    console.log(
      `| ${r.name} | ${fmt(rps)} | ${fmt(rps * r.eventsPerRequest)} | ${r.p50} | ${r.p99} | ${r.failed} | ${((rps * r.eventsPerRequest) / ceiling).toFixed(2)} | ${us(r.serverCpuUs, r)} | ${us(r.brokerCpuUs, r)} |`,
    );
  }
}

/**
 * The interleaved rounds: each variant's median over the rounds, against the variant it is compared with
 * (`baselineOf[i]`: the old build on the same body), CPU per event for the server and the broker.
 */
export function printAb(rounds: Run[][], baselineOf: number[], abSeconds: number): void {
  console.log(`\ninterleaved A/B: ${rounds.length} rounds of ${abSeconds} s per variant, ${CONNECTIONS} connections; median over the rounds\n`);
  console.log('| variant | req/s | events/s | ÷ baseline | server CPU µs/event | added µs/event | broker CPU µs/event | p50 ms | p99 ms | per-round events/s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  const variants = rounds[0]!.map((_, i) => rounds.map((r) => r[i]!));
  const eps = variants.map((runsOf) => median(runsOf.map((r) => (r.ok / r.seconds) * r.eventsPerRequest)));
  const cpu = variants.map((runsOf) => median(runsOf.map((r) => (r.serverCpuUs ?? NaN) / r.eventsPerRequest)));
  variants.forEach((runsOf, i) => {
    const n = runsOf[0]!.eventsPerRequest;
    const base = baselineOf[i]!;
    const broker = median(runsOf.map((r) => (r.brokerCpuUs ?? NaN) / n));
    console.log(
      `| ${runsOf[0]!.name} | ${fmt(eps[i]! / n)} | ${fmt(eps[i]!)} | ${(eps[i]! / eps[base]!).toFixed(2)} | ${cpu[i]!.toFixed(1)} | ${(cpu[i]! - cpu[base]!).toFixed(1)} | ${broker.toFixed(1)} | ${median(runsOf.map((r) => r.p50))} | ${median(runsOf.map((r) => r.p99))} | ${runsOf.map((r) => fmt((r.ok / r.seconds) * n)).join(', ')} |`,
    );
  });
}
