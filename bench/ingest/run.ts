import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, freePorts, startLocalKafka, type LocalKafka } from '@sitestream/infra';
import { BATCH, BROWSER_HEADERS, writeBodies } from './bodies';
import { measureEnrichment } from './enrichment';
import { load, measure, ROOT, WARMUP_S, type Run } from './load';
import { countTopic, spawnNode, stop, waitForHttp } from './processes';
import { printAb, printTable } from './report';

/**
 * `npm run bench:ingest`: load from a separate process (autocannon) against
 *   1. a null Express app with ingest's body reading, answering 202 without Kafka (the ceiling),
 *   2. ingest with a real broker: single events on /event, then batches of 100 on /events,
 *   3. the same ingest, single events with context (issue 12: hostname, referrer, utm_*, props, a browser's
 *      User-Agent and X-Forwarded-For header), in the same run as 2 so the two compare,
 *   4. with BENCH_BASELINE_DIR, an old build beside this one, in interleaved rounds,
 * then the CPU cost of enrichment alone over a realistic agent mix (./enrichment.ts), and prints req/s, events/s,
 * p50/p99 latency and ingest ÷ ceiling, and checks that Kafka holds at least every event that was answered 202.
 * A broker is started for the run unless KAFKA_BROKERS names one.
 */
/**
 * Set to another checkout of Sitestream (built with `npx tsc -b`), e.g. the commit before a change: its ingest
 * runs beside this one and both are measured in interleaved short rounds (single events: baseline, this build
 * with the seed's body, this build with context; batches: baseline, this build), so a busy machine's load swings
 * hit all of them alike.
 */
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
/**
 * Extra environment for this build's ingest and for the baseline's, as `KEY=value KEY2=value`: with
 * BENCH_BASELINE_DIR set to this same checkout, an A/B of a setting (e.g. BENCH_INGEST_ENV=INGEST_BATCH_MAX_MESSAGES=5000).
 */
const INGEST_ENV = envList('BENCH_INGEST_ENV');
const BASELINE_ENV = envList('BENCH_BASELINE_ENV');
const AB_ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 5);
const AB_S = Number(process.env.BENCH_AB_S ?? 8);
/** Set to a folder to write a V8 CPU profile of the ingest process there (open it in Chrome DevTools). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sitestream-bench-'));
  const bodies = writeBodies(work);
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
    await waitForHttp(`http://127.0.0.1:${ceilingPort}/event`, true);
    await load(`http://127.0.0.1:${ceilingPort}/event`, bodies.single, WARMUP_S);
    runs.push(await measure('null Express ceiling, /event', 1, `http://127.0.0.1:${ceilingPort}/event`, bodies.single, ceiling));
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
      // The single-event runs send one site: past 10k events/s the default per-site limit would answer 429 and
      // cap both builds alike. So high it never refuses, while its token bucket still runs on every event.
      INGEST_SITE_EVENTS_PER_SECOND: '1000000000',
    };
    if (Object.keys(INGEST_ENV).length + Object.keys(BASELINE_ENV).length > 0) console.error(`this build's extra env ${JSON.stringify(INGEST_ENV)}, the baseline's ${JSON.stringify(BASELINE_ENV)}`);
    const broker = kafka?.brokers[0]?.child;
    const ingestUrl = `http://127.0.0.1:${ingestPort}`;
    const ingest = spawnNode([...(CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []), join(ROOT, 'ingest', 'dist', 'main.js')], { ...ingestEnv, ...INGEST_ENV });
    children.push(ingest);
    await waitForHttp(`${ingestUrl}/readyz`);
    await load(`${ingestUrl}/event`, bodies.single, WARMUP_S);
    const warmupAccepted = await countTopic(brokers, topic);
    const firstCounted = runs.length;
    runs.push(await measure('Sitestream ingest, /event (1 event)', 1, `${ingestUrl}/event`, bodies.single, ingest, broker));
    runs.push(await measure(`Sitestream ingest, /events (${BATCH} events)`, BATCH, `${ingestUrl}/events`, bodies.batch, ingest, broker));
    await load(`${ingestUrl}/event`, bodies.rich, WARMUP_S, BROWSER_HEADERS);
    runs.push(await measure('Sitestream ingest, /event (1 event with context, browser agent)', 1, `${ingestUrl}/event`, bodies.rich, ingest, broker, BROWSER_HEADERS));
    // Again without context, so a drift of the machine's load between runs shows.
    runs.push(await measure('Sitestream ingest, /event (1 event), again', 1, `${ingestUrl}/event`, bodies.single, ingest, broker));
    const ab: Run[][] = [];
    // Each A/B variant's ratio is to the baseline build on the same body.
    const abBaselineOf = [0, 0, 0, 3, 3];
    if (BASELINE_DIR) {
      const baselinePort = await freePort();
      const baseline = spawnNode([join(resolve(BASELINE_DIR), 'ingest', 'dist', 'main.js')], { ...ingestEnv, ...BASELINE_ENV, INGEST_PORT: String(baselinePort) });
      children.push(baseline);
      const baselineUrl = `http://127.0.0.1:${baselinePort}`;
      await waitForHttp(`${baselineUrl}/readyz`);
      await load(`${baselineUrl}/event`, bodies.single, WARMUP_S);
      await load(`${baselineUrl}/events`, bodies.batch, WARMUP_S);
      for (let round = 0; round < AB_ROUNDS; round++) {
        ab.push([
          await measure('baseline build, /event (seed body)', 1, `${baselineUrl}/event`, bodies.single, baseline, broker, [], AB_S),
          await measure('this build, /event (seed body)', 1, `${ingestUrl}/event`, bodies.single, ingest, broker, [], AB_S),
          await measure('this build, /event (with context, browser agent)', 1, `${ingestUrl}/event`, bodies.rich, ingest, broker, BROWSER_HEADERS, AB_S),
          await measure(`baseline build, /events (${BATCH} events)`, BATCH, `${baselineUrl}/events`, bodies.batch, baseline, broker, [], AB_S),
          await measure(`this build, /events (${BATCH} events)`, BATCH, `${ingestUrl}/events`, bodies.batch, ingest, broker, [], AB_S),
        ]);
      }
      await stop(baseline);
    }
    await stop(ingest);

    // Every 202 must be in Kafka. More records than 202s is possible (a request cut off after the broker's ack
    // at the end of a run), fewer never.
    const inKafka = (await countTopic(brokers, topic)) - warmupAccepted;
    // The interleaved baseline's events go to the same topic after the warm-up count: they count too (its own
    // warm-ups add records without 202s, which the check allows).
    const answered202 = [...runs.slice(firstCounted), ...ab.flat()].reduce((sum, r) => sum + r.ok * r.eventsPerRequest, 0);
    printTable(runs);
    if (ab.length > 0) printAb(ab, abBaselineOf, AB_S);
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

function envList(name: string): Record<string, string> {
  const pairs = (process.env[name] ?? '').split(/\s+/).filter(Boolean);
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`${name}: expected KEY=value, got ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
