import { startIngestService } from '@sitestream/ingest';
import type { LocalKafka } from '@sitestream/infra';
import { createLogger, type Config } from '@sitestream/shared';
import { testConfig } from '../helpers/pipeline';
import { startThrowawayKafka, type ThrowawayKafka } from '../helpers/kafka';
import { waitFor } from '../helpers/wait-for';
import { send, validEvent, type Sent } from './http';

const DEADLINE_MS = 1500;
const BUFFER_LIMIT = 200;
const BUFFER_LIMIT_BYTES = 256 * 1024;

/**
 * Honest under overload: with its own broker killed, ingest answers 503 with Retry-After within its deadline
 * (never 202), /readyz turns false, a flood is refused at the buffer cap instead of queued, and everything
 * comes back with the broker. The broker is this file's own, so killing it disturbs no other test.
 */
describe('ingest when the broker is gone', () => {
  let throwaway: ThrowawayKafka;
  let kafka: LocalKafka;
  let config: Config;
  let ingest: Awaited<ReturnType<typeof startIngestService>>;
  /** Bounded in bytes only: its event limit is far away. */
  let byBytes: Awaited<ReturnType<typeof startIngestService>>;
  const post = (body: unknown, path = '/event'): Promise<Sent> => send(`${ingest.url}${path}`, Buffer.from(JSON.stringify(body)));
  const readyz = async () => (await fetch(`${ingest.url}/readyz`)).status;
  // Each test sets the broker state it needs, so none relies on another having run before it (jest -t works).
  const brokerAlive = () => kafka.brokers[0]!.child.exitCode === null && kafka.brokers[0]!.child.signalCode === null;
  const brokerDown = async () => {
    if (brokerAlive()) await kafka.brokers[0]!.kill('SIGKILL');
  };
  const brokerUp = async () => {
    if (!brokerAlive()) await kafka.brokers[0]!.restart();
    await waitFor(async () => (await readyz()) === 200, { what: '/readyz 200', timeoutMs: 90_000 });
  };

  beforeAll(async () => {
    throwaway = await startThrowawayKafka({ brokers: 1, heapMb: 384 });
    kafka = throwaway.kafka;
    config = testConfig({
      KAFKA_BROKERS: kafka.bootstrap,
      KAFKA_TOPIC_PARTITIONS: 1,
      INGEST_PRODUCE_TIMEOUT_MS: DEADLINE_MS,
      INGEST_MAX_BUFFERED_EVENTS: BUFFER_LIMIT,
    });
    ingest = await startIngestService(config, createLogger(config, 'ingest'));
    const bytesConfig = { ...config, INGEST_MAX_BUFFERED_EVENTS: 1_000_000, INGEST_MAX_BUFFERED_BYTES: BUFFER_LIMIT_BYTES };
    byBytes = await startIngestService(bytesConfig, createLogger(bytesConfig, 'ingest'));
  }, 120_000);
  afterAll(async () => {
    await byBytes?.stop();
    await ingest?.stop();
    await throwaway?.stop();
  });

  it('while the broker is up, an event gets 202 and /readyz says ready', async () => {
    await brokerUp();
    const r = await waitFor(async () => ((await post(validEvent())).status === 202 ? true : undefined), { what: '202', timeoutMs: 30_000 });
    expect(r).toBe(true);
    expect(await readyz()).toBe(200);
  }, 150_000);

  it('when the broker is killed, an event gets 503 with Retry-After within the deadline', async () => {
    await brokerDown();
    const started = Date.now();
    const r = await post(validEvent());
    const elapsed = Date.now() - started;
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 503, code: 'BROKER_UNAVAILABLE' });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The deadline, plus the linger and a margin for a loaded machine; kafkajs alone would retry for much longer.
    expect(elapsed).toBeLessThan(DEADLINE_MS + 1500);
  });

  it('then /readyz answers 503 naming the producer', async () => {
    await brokerDown();
    const body = await waitFor(
      async () => {
        const res = await fetch(`${ingest.url}/readyz`);
        return res.status === 503 ? ((await res.json()) as { components: Record<string, boolean> }) : undefined;
      },
      { what: '/readyz 503', timeoutMs: 15_000 },
    );
    expect(body.components['kafka-producer']).toBe(false);
  });

  it('then a flood is refused at the buffer cap: no 202, memory held to the limit, and it drains', async () => {
    await brokerDown();
    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, ingest.publisher.buffered)), 5);
    const batch = { events: Array.from({ length: 50 }, () => validEvent()) };
    const answers = await Promise.all([
      ...Array.from({ length: 300 }, () => post(validEvent())),
      ...Array.from({ length: 20 }, () => post(batch, '/events')),
    ]);
    clearInterval(sampler);
    const byCode = countBy(answers.map((a) => `${a.status} ${a.body?.error?.code ?? ''}`));
    expect(Object.keys(byCode).sort()).toEqual(['503 BROKER_UNAVAILABLE', '503 OVERLOADED']);
    expect(answers.every((a) => a.headers.get('retry-after') !== null)).toBe(true);
    expect(maxBuffered).toBeLessThanOrEqual(BUFFER_LIMIT);
    // Events kafkajs still holds count until it gives up on them; then the buffer is empty again.
    await waitFor(() => ingest.publisher.buffered === 0, { what: 'buffer drained', timeoutMs: 60_000 });
    const metrics = await (await fetch(`${ingest.managementUrl}/metrics`)).text();
    expect(metrics).toMatch(/sitestream_ingest_requests_refused_total\{[^}]*status="503"[^}]*code="OVERLOADED"[^}]*\} [1-9]/);
  }, 90_000);

  it('then a flood of large events is refused at the byte cap, however few events that is', async () => {
    let maxBytes = 0;
    const sampler = setInterval(() => (maxBytes = Math.max(maxBytes, byBytes.publisher.bufferedBytes)), 5);
    const large = validEvent({ path: `/${'p'.repeat(2000)}` });
    const answers = await Promise.all(Array.from({ length: 300 }, () => send(`${byBytes.url}/event`, Buffer.from(JSON.stringify(large)))));
    clearInterval(sampler);
    const byCode = countBy(answers.map((a) => `${a.status} ${a.body?.error?.code ?? ''}`));
    // 300 events of ~2.2 KB are ~660 KB: more than the 256 KB cap, so some are refused at once.
    expect(byCode['503 OVERLOADED']).toBeGreaterThan(0);
    expect(byCode['202 ']).toBeUndefined();
    expect(maxBytes).toBeLessThanOrEqual(BUFFER_LIMIT_BYTES);
    await waitFor(() => byBytes.publisher.bufferedBytes === 0, { what: 'byte buffer drained', timeoutMs: 60_000 });
  });

  it('when the broker comes back, /readyz and 202 come back too', async () => {
    await brokerDown();
    await brokerUp();
    const r = await waitFor(
      async () => {
        const answer = await post(validEvent());
        return answer.status === 202 ? answer : undefined;
      },
      { what: '202 again', timeoutMs: 30_000 },
    );
    expect(r.body.status).toBe('accepted');
    // The waits above (90 s + 30 s) fit inside this test's own timeout, so a hang reports which one.
  }, 150_000);
});

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of keys) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}
