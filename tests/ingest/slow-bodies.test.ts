import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { uniqueKafkaNames } from '../helpers/pipeline';
import { freePort, spawnService, type ServiceProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';
import { send, validEvent } from './http';

const SOCKETS = 250;
const REQUEST_TIMEOUT_MS = 3000;
const BODY_BUDGET = 16 * 1024 * 1024;
/** Budget + decompressor state + 250 sockets' own buffers, with room for the garbage collector's lag (measured: ~70 MB; unbounded: ~280 MB). */
const RSS_GROWTH_LIMIT = 128 * 1024 * 1024;

/**
 * Slow gzip bodies: ~1 KB of gzip inflating to just under the body limit, sent without its last bytes, by 250
 * sockets at once. Unbounded, each pins its inflated megabyte until its request times out (250 MB here); ingest
 * must hold them to its body budget (refusing the rest with 503) and close every one of them within its request
 * timeout. Ingest runs as its own process so its RSS is its own.
 */
describe('ingest under slow gzip bodies', () => {
  let proc: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    proc = spawnService('ingest', {
      ...uniqueKafkaNames(),
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      HOST: '127.0.0.1',
      INGEST_PORT: String(port),
      KAFKA_TOPIC_PARTITIONS: '1',
      LOG_LEVEL: 'warn',
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      INGEST_MAX_PENDING_BODY_BYTES: String(BODY_BUDGET),
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, { what: 'ingest ready', timeoutMs: 45_000 });
  }, 60_000);
  afterAll(() => {
    if (proc?.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('holds its RSS to the body budget and closes every slow socket within the request timeout', async () => {
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.child.pid}/status`, 'utf8'))?.[1]) * 1024;
    // Warm up (JIT, first allocations) so the baseline is the running service's.
    for (let i = 0; i < 20; i++) await send(`http://127.0.0.1:${port}/event`, Buffer.from(JSON.stringify(validEvent())));
    const baseline = rss();

    const inflated = Buffer.from(`{"events":"${'a'.repeat(1024 * 1024 - 64)}"}`);
    const gz = gzipSync(inflated, { level: 9 });
    expect(gz.length).toBeLessThan(4096);
    const partial = gz.subarray(0, gz.length - 8); // everything but the CRC and length trailer
    const sockets: { socket: Socket; sentAt: number; closedAt?: number; answer: string }[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const socket = connect(port, '127.0.0.1');
      const entry: (typeof sockets)[number] = { socket, sentAt: 0, answer: '' };
      socket.on('data', (d: Buffer) => (entry.answer += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => (entry.closedAt = Date.now()));
      socket.write(
        'POST /events HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n' +
          `Content-Length: ${gz.length}\r\n\r\n`,
      );
      socket.write(partial, () => (entry.sentAt = Date.now()));
      sockets.push(entry);
    }

    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
    let allClosed = true;
    try {
      await waitFor(() => sockets.every((s) => s.closedAt !== undefined), { what: 'every slow socket closed', timeoutMs: REQUEST_TIMEOUT_MS + 12_000, intervalMs: 100 });
    } catch {
      allClosed = false;
    } finally {
      clearInterval(sampler);
      for (const s of sockets) s.socket.destroy();
    }
    const lastSent = Math.max(...sockets.map((s) => s.sentAt));
    const lastClosed = Math.max(...sockets.map((s) => s.closedAt ?? Infinity));
    const statuses = sockets.map((s) => /^HTTP\/1\.1 (\d{3})/.exec(s.answer)?.[1] ?? 'none');
    const byStatus = statuses.reduce<Record<string, number>>((acc, s) => ((acc[s] = (acc[s] ?? 0) + 1), acc), {});

    console.log(JSON.stringify({ rssGrowthMb: Math.round((peak - baseline) / 1048576), byStatus, closedAfterLastSentMs: lastClosed - lastSent }));
    expect(peak - baseline).toBeLessThan(RSS_GROWTH_LIMIT);
    expect(allClosed).toBe(true);
    // Refused at once when over the budget (503), or cut off by the request timeout (408): never left open.
    expect(Object.keys(byStatus).every((s) => s === '503' || s === '408')).toBe(true);
    expect(byStatus['503'] ?? 0).toBeGreaterThan(0);
    // The request timeout counts from the first byte; Node checks it a few times a second.
    expect(lastClosed - lastSent).toBeLessThan(REQUEST_TIMEOUT_MS + 5000);
    // And once they are gone, the service answers as before.
    expect((await send(`http://127.0.0.1:${port}/event`, Buffer.from(JSON.stringify(validEvent())))).status).toBe(202);
  }, 60_000);

  it('closes connections past HTTP_MAX_CONNECTIONS at once, and serves again when they are gone', async () => {
    const capPort = await freePort();
    const capped = spawnService('ingest', {
      ...uniqueKafkaNames(),
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      HOST: '127.0.0.1',
      INGEST_PORT: String(capPort),
      KAFKA_TOPIC_PARTITIONS: '1',
      LOG_LEVEL: 'warn',
      HTTP_MAX_CONNECTIONS: '20',
    });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${capPort}/readyz`)).status === 200, { what: 'capped ingest ready', timeoutMs: 45_000 });
      // Idle sockets (nothing sent): the headers timeout (10 s) is far, so only the cap can close them now.
      const sockets = Array.from({ length: 30 }, () => {
        const entry = { socket: connect(capPort, '127.0.0.1'), closed: false };
        entry.socket.on('error', () => undefined);
        entry.socket.on('close', () => (entry.closed = true));
        return entry;
      });
      await waitFor(() => sockets.filter((s) => s.closed).length >= 10, { what: '10 sockets past the cap closed', timeoutMs: 5000 });
      // 20 slots, one of them possibly held by the readiness poll's keep-alive connection: the rest stay open.
      expect(sockets.filter((s) => !s.closed).length).toBeGreaterThanOrEqual(19);
      for (const s of sockets) s.socket.destroy();
      await waitFor(async () => (await send(`http://127.0.0.1:${capPort}/event`, Buffer.from(JSON.stringify(validEvent())))).status === 202, { what: '202 again', timeoutMs: 10_000 });
    } finally {
      capped.child.kill('SIGKILL');
    }
  }, 60_000);
});
