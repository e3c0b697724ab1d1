import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from './config';
import { createBaseApp, finishApp, listen, requestMetrics, serverUrl } from './http';

const limits = loadConfig({});

/** One log line per request, with its id and duration, and nothing secret from the request. */
describe('requestMetrics logging', () => {
  it('logs method, route template, status, duration and request id — never headers or the query string', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const registry = new Registry();
    const app = createBaseApp({ trustProxyHops: 0 });
    app.use(requestMetrics(registry, { logger, level: 'info' }));
    app.get('/stats/:id', (_req, res) => {
      res.json({ ok: true });
    });
    finishApp(app, logger);
    const server = await listen(app, 0, '127.0.0.1', limits);
    try {
      const url = serverUrl(server);
      await fetch(`${url}/stats/42?key=secret-in-query`, { headers: { authorization: 'Bearer ss_live_secret', 'x-request-id': 'req-1' } });
      await fetch(`${url}/nowhere`);
    } finally {
      server.close();
    }
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ request_id: 'req-1', method: 'GET', route: '/stats/:id', status: 200 });
    expect(typeof requests[0]!.ms).toBe('number');
    expect(requests[1]).toMatchObject({ route: 'unmatched', status: 404 });
    expect(typeof requests[1]!.request_id).toBe('string');
    expect(JSON.stringify(lines)).not.toMatch(/secret/);
  });

  it('writes nothing when the level is off', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }));
    const app = createBaseApp({ trustProxyHops: 0 });
    app.use(requestMetrics(new Registry(), { logger, level: 'debug' }));
    app.get('/x', (_req, res) => {
      res.send('ok');
    });
    const server = await listen(app, 0, '127.0.0.1', limits);
    try {
      await fetch(`${serverUrl(server)}/x`);
    } finally {
      server.close();
    }
    expect(lines).toEqual([]);
  });

  it('logs a 5xx with its route and path, never the query string', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }));
    const app = createBaseApp({ trustProxyHops: 0 });
    app.get('/boom', () => {
      throw new Error('kaput');
    });
    finishApp(app, logger);
    const server = await listen(app, 0, '127.0.0.1', limits);
    try {
      expect((await fetch(`${serverUrl(server)}/boom?token=secret-in-query`)).status).toBe(500);
    } finally {
      server.close();
    }
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ method: 'GET', path: '/boom' });
    expect(lines.join('')).not.toMatch(/secret/);
  });
});
