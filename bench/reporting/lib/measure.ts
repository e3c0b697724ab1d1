import { cpus, loadavg, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

/** The q-quantile (0..1) of a sample, by nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  return quantile(values, 0.5);
}

export function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** What BENCHMARKS.md must record next to every number: the machine, the versions and how busy it was. */
export function machineLine(): string {
  let pgVersion = 'unknown';
  try {
    pgVersion = execFileSync('psql', ['-At', '-h', '127.0.0.1', '-U', 'postgres', '-c', 'SHOW server_version'], { encoding: 'utf8' }).trim();
  } catch {
    // psql missing: the version stays unknown.
  }
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, PostgreSQL ${pgVersion}`;
}

export function loadLine(): string {
  return `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

export function elapsed(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

/** A bench script's body between the machine and load lines it must print; a failure exits 1. */
export function runBench(work: () => Promise<void>): void {
  console.log(`machine: ${machineLine()}\nstart: ${loadLine()}`);
  work().then(
    () => console.log(`end: ${loadLine()}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
