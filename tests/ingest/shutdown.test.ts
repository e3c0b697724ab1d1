import { connect } from 'node:net';
import { topicRecordCount } from '../helpers/kafka';
import { testConfig, uniqueKafkaNames } from '../helpers/pipeline';
import { freePort, spawnService, type ServiceProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';
import { validEvent } from './http';

const IN_FLIGHT = 25;

/**
 * SIGTERM with requests in flight: ingest stops accepting connections, still reads, validates and publishes
 * the requests it has begun, answers each, then exits 0. "In flight" is made certain, not timed: each client
 * sends its headers with `Expect: 100-continue` and holds its body until the server has answered 100 Continue,
 * which Node does only once it has parsed the request.
 */
describe('ingest on SIGTERM', () => {
  let proc: ServiceProcess;
  let port: number;
  const names = uniqueKafkaNames();

  beforeAll(async () => {
    port = await freePort();
    proc = spawnService('ingest', {
      ...names,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      HOST: '127.0.0.1',
      INGEST_PORT: String(port),
      KAFKA_TOPIC_PARTITIONS: '1',
      LOG_LEVEL: 'warn',
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, { what: 'ingest ready', timeoutMs: 45_000 });
  });
  afterAll(() => {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('answers every request in flight with 202, stores each event, stops accepting and exits 0', async () => {
    const requests = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => startRequest(port, validEvent({ user_id: `u${i}` }))));

    proc.child.kill('SIGTERM');
    await waitFor(async () => !(await accepts(port)), { what: 'the listening socket to close' });
    const statuses = await Promise.all(requests.map((finish) => finish()));

    expect(statuses).toEqual(new Array(IN_FLIGHT).fill(202));
    expect(await proc.exited).toBe(0);
    expect(await topicRecordCount(testConfig({ ...names }), names.KAFKA_TOPIC)).toBe(IN_FLIGHT);
    expect(proc.output()).not.toMatch(/"level":"(error|fatal)"/);
  });
});

/**
 * Sends the request line and headers, waits for 100 Continue, and returns a function that sends the body and
 * resolves with the final status.
 */
function startRequest(port: number, event: Record<string, unknown>): Promise<() => Promise<number>> {
  const body = Buffer.from(JSON.stringify(event));
  return new Promise((resolveStarted, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let started = false;
    let finished: ((status: number) => void) | undefined;
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!started && received.includes('100 Continue\r\n\r\n')) {
        started = true;
        received = received.slice(received.indexOf('100 Continue\r\n\r\n') + 16);
        resolveStarted(
          () =>
            new Promise<number>((resolveStatus) => {
              finished = resolveStatus;
              socket.write(body);
            }),
        );
      }
    });
    socket.on('end', () => finished?.(Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0)));
    socket.write(
      'POST /event HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolveAccepts) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveAccepts(true);
    });
    socket.once('error', () => resolveAccepts(false));
  });
}
