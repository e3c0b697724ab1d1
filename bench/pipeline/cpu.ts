import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time per component, from /proc (Linux): named processes, plus every `postgres` process summed. The
 * difference between two samples over a step says where the machine's two cores went.
 */
export type CpuSample = Map<string, number>;

const TICKS = 100;
/** The whole machine's busy time (/proc/stat), beside the named processes. */
const MACHINE = 'machine (all processes)';

/** CPU seconds `name` spent between two samples. */
const spent = (before: CpuSample, after: CpuSample, name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);

function processSeconds(pid: number): { comm: string; seconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS };
  } catch {
    return undefined;
  }
}

export function sampleCpu(named: Record<string, number | undefined>): CpuSample {
  const sample: CpuSample = new Map();
  for (const [name, pid] of Object.entries(named)) {
    if (pid !== undefined) sample.set(name, processSeconds(pid)?.seconds ?? 0);
  }
  let postgres = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = processSeconds(Number(entry));
    if (p?.comm === 'postgres') postgres += p.seconds;
  }
  sample.set('postgres', postgres);
  let total = 0;
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.split(/\s+/).slice(1).map(Number);
      total = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / TICKS;
    }
  }
  sample.set(MACHINE, total);
  return sample;
}

/** Cores used per component between two samples taken `seconds` apart. */
export function cpuShares(before: CpuSample, after: CpuSample, seconds: number): string {
  return [...after.entries()]
    .map(([name]) => `${name} ${(spent(before, after, name) / seconds).toFixed(2)}`)
    .join(', ');
}

/**
 * CPU µs per stored event per component between two samples, and the rest of the machine (the load generator,
 * this bench, anything else) as `rest`. At a step the pipeline sustains these are its costs per event, and two
 * cores divided by their sum is the rate this machine can carry at those costs (BENCHMARKS.md, "The whole path against issue 16's targets").
 */
export function cpuPerEvent(before: CpuSample, after: CpuSample, events: number): { line: string; machineUs: number } {
  const us = (name: string) => (spent(before, after, name) * 1e6) / Math.max(1, events);
  const named = [...after.keys()].filter((name) => name !== MACHINE);
  const rest = us(MACHINE) - named.reduce((sum, name) => sum + us(name), 0);
  const parts = [...named.map((name) => `${name} ${us(name).toFixed(1)}`), `rest ${rest.toFixed(1)}`];
  return { line: `${parts.join(', ')}; machine ${us(MACHINE).toFixed(1)}`, machineUs: us(MACHINE) };
}
