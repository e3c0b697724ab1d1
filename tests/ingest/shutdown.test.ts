import { topicRecordCount } from '../helpers/kafka';
import { testConfig, uniqueKafkaNames } from '../helpers/pipeline';
import { freePort, spawnService, type ServiceProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';
import { send, validEvent, type Sent } from './http';

const IN_FLIGHT = 25;
const LINGER_MS = 60_000;

/**
 * SIGTERM with requests in flight: ingest stops accepting, sends what it holds at once (not after its
 * linger), answers every request, and exits 0. The linger is a minute, so only the shutdown path can
 * explain the answers arriving within seconds.
 */
describe('ingest on SIGTERM', () => {
  let proc: ServiceProcess;
  let url: string;
  const names = uniqueKafkaNames();

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    proc = spawnService('ingest', {
      ...names,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      HOST: '127.0.0.1',
      INGEST_PORT: String(port),
      INGEST_LINGER_MS: String(LINGER_MS),
      KAFKA_TOPIC_PARTITIONS: '1',
      LOG_LEVEL: 'warn',
    });
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'ingest ready', timeoutMs: 45_000 });
  });
  afterAll(() => {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('answers every request in flight with 202, stores each event, stops accepting and exits 0', async () => {
    const answers: Promise<Sent>[] = Array.from({ length: IN_FLIGHT }, (_, i) =>
      send(`${url}/event`, Buffer.from(JSON.stringify(validEvent({ user_id: `u${i}` })))),
    );
    await waitFor(async () => bufferedEvents(await (await fetch(`${url}/metrics`)).text()) === IN_FLIGHT, {
      what: `${IN_FLIGHT} events waiting in the publisher`,
    });

    const signalled = Date.now();
    proc.child.kill('SIGTERM');
    const settled = await Promise.all(answers);
    expect(Date.now() - signalled).toBeLessThan(LINGER_MS / 4);
    expect(settled.map((a) => a.status)).toEqual(new Array(IN_FLIGHT).fill(202));
    expect(await proc.exited).toBe(0);

    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const config = testConfig({ ...names });
    expect(await topicRecordCount(config, names.KAFKA_TOPIC)).toBe(IN_FLIGHT);
    expect(proc.output()).not.toMatch(/"level":"(error|fatal)"/);
  });
});

function bufferedEvents(metrics: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('sitestream_ingest_buffered_events'));
  return line ? Number(line.split(' ').pop()) : NaN;
}
