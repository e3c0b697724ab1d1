import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, freePorts, startLocalKafka, type LocalKafka } from '@sitestream/infra';
import { countTopicRecords, createKafka, createLogger, loadConfig } from '@sitestream/shared';
import { measureEnrichment } from './enrichment';

/**
 * `npm run bench:ingest`: load from a separate process (autocannon) against
 *   1. a null Express app with ingest's body reading, answering 202 without Kafka (the ceiling),
 *   2. ingest with a real broker: single events on /event, then batches of 100 on /events,
 *   3. the same ingest, single events with context (issue 12: hostname, referrer, utm_*, props, a browser's
 *      User-Agent and X-Forwarded-For header), in the same run as 2 so the two compare,
 * then the CPU cost of enrichment alone over a realistic agent mix (./enrichment.ts), and prints req/s, events/s, p50/p99 latency and ingest ÷ ceiling, and checks that Kafka holds at least every
 * event that was answered 202. A broker is started for the run unless KAFKA_BROKERS names one.
 */
const ROOT = resolve(__dirname, '..', '..', '..');
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const BATCH = 100;
/**
 * Set to another checkout of Sitestream (built with `npx tsc -b`), e.g. the commit before a change: its ingest
 * runs beside this one and both are measured on single events in interleaved short rounds (baseline, this build
 * with the seed's body, this build with context), so a busy machine's load swings hit all three alike.
 */
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
const AB_ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 5);
const AB_S = Number(process.env.BENCH_AB_S ?? 8);
/** Set to a folder to write a V8 CPU profile of the ingest process there (open it in Chrome DevTools). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;

interface Run {
  name: string;
  eventsPerRequest: number;
  /** CPU time the server process (and, for ingest, the broker) spent per request, from /proc: noise-resistant. */
  serverCpuUs?: number;
  brokerCpuUs?: number;
  ok: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
}

function event(i: number): Record<string, string> {
  return { site_id: `site-${i % 20}`, event_type: 'page_view', path: `/page/${i % 50}`, user_id: `user-${i}`, timestamp: '2025-11-16T10:00:00Z' };
}

/** What the tracker sends on a campaign landing: the seed's fields plus context. */
function eventWithContext(i: number): Record<string, unknown> {
  return {
    ...event(i),
    hostname: 'shop.example.com',
    referrer: 'https://www.google.com/search?q=running+shoes',
    utm_source: 'newsletter',
    utm_medium: 'email',
    utm_campaign: 'spring',
    props: { plan: 'pro', seats: 3 },
  };
}
const BROWSER_HEADERS = [
  'user-agent=Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'x-forwarded-for=81.2.69.142',
];

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sitestream-bench-'));
  const single = join(work, 'event.json');
  const batch = join(work, 'events.json');
  const rich = join(work, 'event-context.json');
  writeFileSync(single, JSON.stringify(event(1)));
  writeFileSync(rich, JSON.stringify(eventWithContext(1)));
  writeFileSync(batch, JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => event(i)) }));
  const children: ChildProcess[] = [];
  let kafka: LocalKafka | undefined;
  try {
    console.error(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    let brokers = process.env.KAFKA_BROKERS;
    if (!brokers) {
      const [port, controllerPort] = (await freePorts(2)) as [number, number];
      kafka = await startLocalKafka({ dataDir: join(work, 'kafka'), brokers: [{ nodeId: 1, port, controllerPort }] });
      brokers = kafka.bootstrap;
      console.error(`Kafka broker started at ${brokers}`);
    }

    const runs: Run[] = [];
    const ceilingPort = await freePort();
    const ceiling = spawnNode([resolve(__dirname, 'null-server.js')], { PORT: String(ceilingPort) });
    children.push(ceiling);
    await waitForHttp(`http://127.0.0.1:${ceilingPort}/event`, single);
    await load(`http://127.0.0.1:${ceilingPort}/event`, single, WARMUP_S);
    runs.push(await measure('null Express ceiling, /event', 1, `http://127.0.0.1:${ceilingPort}/event`, single, ceiling));
    await stop(ceiling);

    const topic = `bench-events-${randomBytes(3).toString('hex')}`;
    const ingestPort = await freePort();
    const ingestEnv = {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      INGEST_PORT: String(ingestPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The context run sends X-Forwarded-For as a proxy in front would.
      TRUST_PROXY_HOPS: '1',
    };
    const broker = kafka?.brokers[0]?.child;
    const ingestUrl = `http://127.0.0.1:${ingestPort}`;
    const ingest = spawnNode([...(CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []), join(ROOT, 'ingest', 'dist', 'main.js')], ingestEnv);
    children.push(ingest);
    await waitForHttp(`${ingestUrl}/readyz`);
    await load(`${ingestUrl}/event`, single, WARMUP_S);
    const warmupAccepted = await countTopic(brokers, topic);
    const firstCounted = runs.length;
    runs.push(await measure('Sitestream ingest, /event (1 event)', 1, `${ingestUrl}/event`, single, ingest, broker));
    runs.push(await measure(`Sitestream ingest, /events (${BATCH} events)`, BATCH, `${ingestUrl}/events`, batch, ingest, broker));
    await load(`${ingestUrl}/event`, rich, WARMUP_S, BROWSER_HEADERS);
    runs.push(await measure('Sitestream ingest, /event (1 event with context, browser agent)', 1, `${ingestUrl}/event`, rich, ingest, broker, BROWSER_HEADERS));
    // Again without context, so a drift of the machine's load between runs shows.
    runs.push(await measure('Sitestream ingest, /event (1 event), again', 1, `${ingestUrl}/event`, single, ingest, broker));
    const ab: Run[][] = [];
    if (BASELINE_DIR) {
      const baselinePort = await freePort();
      const baseline = spawnNode([join(resolve(BASELINE_DIR), 'ingest', 'dist', 'main.js')], { ...ingestEnv, INGEST_PORT: String(baselinePort) });
      children.push(baseline);
      const baselineUrl = `http://127.0.0.1:${baselinePort}`;
      await waitForHttp(`${baselineUrl}/readyz`);
      await load(`${baselineUrl}/event`, single, WARMUP_S);
      for (let round = 0; round < AB_ROUNDS; round++) {
        ab.push([
          await measure('baseline build, /event (seed body)', 1, `${baselineUrl}/event`, single, baseline, broker, [], AB_S),
          await measure('this build, /event (seed body)', 1, `${ingestUrl}/event`, single, ingest, broker, [], AB_S),
          await measure('this build, /event (with context, browser agent)', 1, `${ingestUrl}/event`, rich, ingest, broker, BROWSER_HEADERS, AB_S),
        ]);
      }
      await stop(baseline);
    }
    await stop(ingest);

    // Every 202 must be in Kafka. More records than 202s is possible (a request cut off after the broker's ack
    // at the end of a run), fewer never.
    const inKafka = (await countTopic(brokers, topic)) - warmupAccepted;
    // The interleaved baseline's events go to the same topic after the warm-up count: they count too.
    const answered202 = [...runs.slice(firstCounted), ...ab.flat()].reduce((sum, r) => sum + r.ok * r.eventsPerRequest, 0);
    printTable(runs);
    if (ab.length > 0) printAb(ab);
    const e = measureEnrichment();
    console.log(
      `\nenrichment alone (${e.events} events, ${e.distinctAgents} distinct agents, cache starting empty): validation of the seed body ` +
        `${e.baselineUs.toFixed(2)} µs/event; validation + enrichment of an event with context ${e.withContextUs.toFixed(2)} µs/event; ` +
        `added ${e.addedUs.toFixed(2)} µs/event; an agent not in the cache ${e.cacheMissUs.toFixed(1)} µs`,
    );
    console.log(`\nload average after the runs: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`\nKafka holds ${inKafka} events of the measured runs; ${answered202} were answered 202: ${inKafka >= answered202 ? 'OK' : 'MISSING EVENTS'}`);
    if (inKafka < answered202) process.exitCode = 1;
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await kafka?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  latency: { p50: number; p99: number };
}

/** One autocannon run in its own process, so the load generator never shares an event loop with the server. */
function load(url: string, bodyFile: string, seconds: number, headers: string[] = []): Promise<AutocannonResult> {
  const cli = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const extra = headers.flatMap((h) => ['-H', h]);
  const args = [cli, '-j', '-n', '-c', String(CONNECTIONS), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', ...extra, '-i', bodyFile, url];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      resolveRun(JSON.parse(out) as AutocannonResult);
    });
  });
}

async function measure(
  name: string,
  eventsPerRequest: number,
  url: string,
  bodyFile: string,
  server: ChildProcess,
  broker?: ChildProcess,
  headers: string[] = [],
  seconds = DURATION_S,
): Promise<Run> {
  const before = [cpuTicks(server), cpuTicks(broker)];
  const r = await load(url, bodyFile, seconds, headers);
  const after = [cpuTicks(server), cpuTicks(broker)];
  const perRequestUs = (i: number) => {
    const [b, a] = [before[i], after[i]];
    return a === undefined || b === undefined || r['2xx'] === 0 ? undefined : ((a - b) * 1e6) / TICKS_PER_S / r['2xx'];
  };
  return {
    name,
    eventsPerRequest,
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
    seconds: r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    serverCpuUs: perRequestUs(0),
    brokerCpuUs: perRequestUs(1),
  };
}

/** Linux's clock ticks (USER_HZ, 100 on every mainstream kernel) of user + system time of a process. */
const TICKS_PER_S = 100;
function cpuTicks(child: ChildProcess | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${child?.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function printTable(runs: Run[]): void {
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

/** The interleaved rounds: each variant's median over the rounds, and the ratios to the baseline. */
function printAb(rounds: Run[][]): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\ninterleaved A/B: ${rounds.length} rounds of ${AB_S} s per variant, ${CONNECTIONS} connections; median over the rounds\n`);
  console.log('| variant | req/s | ÷ baseline | server CPU µs/event | added µs/event | per-round req/s |');
  console.log('|---|---:|---:|---:|---:|---|');
  const variants = rounds[0]!.map((_, i) => rounds.map((r) => r[i]!));
  const rps = variants.map((runsOf) => median(runsOf.map((r) => r.ok / r.seconds)));
  const cpu = variants.map((runsOf) => median(runsOf.map((r) => r.serverCpuUs ?? NaN)));
  variants.forEach((runsOf, i) => {
    console.log(
      `| ${runsOf[0]!.name} | ${fmt(rps[i]!)} | ${(rps[i]! / rps[0]!).toFixed(2)} | ${cpu[i]!.toFixed(1)} | ${(cpu[i]! - cpu[0]!).toFixed(1)} | ${runsOf.map((r) => fmt(r.ok / r.seconds)).join(', ')} |`,
    );
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, { env: { ...process.env, INGEST_MANAGEMENT_PORT: '0', ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

async function waitForHttp(url: string, bodyFile?: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = bodyFile
        ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event(0)) })
        : await fetch(url);
      if (res.status < 300) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A port the OS just handed out and released. */

async function countTopic(brokers: string, topic: string): Promise<number> {
  const config = loadConfig({ KAFKA_BROKERS: brokers, LOG_LEVEL: 'silent' });
  const admin = createKafka(config, createLogger(config, 'bench'), 'bench').admin();
  await admin.connect();
  try {
    return await countTopicRecords(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
