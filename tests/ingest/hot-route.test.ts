import { gzipSync } from 'node:zlib';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { send, validEvent, type Sent } from './http';

/**
 * The plain `POST /event` is answered outside Express (ingest/src/hot-route.ts); any other spelling of the same
 * route (here with a query string) still goes through the Express router. Both must answer alike — status,
 * every header but Date, and the body (event ids aside) — and be counted alike in the request metrics.
 */
describe('POST /event outside Express answers as the Express route does', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({}, { consumer: false });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const type = { 'content-type': 'application/json' };
  const cases: { name: string; body: () => Buffer; headers?: Record<string, string>; status: number }[] = [
    { name: 'a valid event', body: () => json(validEvent()), status: 202 },
    { name: 'a valid event from a browser, with an Origin', body: () => json(validEvent()), headers: { ...type, origin: 'https://shop.example.com', 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' }, status: 202 },
    { name: 'a beacon (text/plain)', body: () => json(validEvent()), headers: { 'content-type': 'text/plain;charset=UTF-8' }, status: 202 },
    { name: 'a gzip body', body: () => gzipSync(json(validEvent())), headers: { ...type, 'content-encoding': 'gzip' }, status: 202 },
    { name: 'a bot', body: () => json(validEvent({ user_agent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' })), status: 202 },
    { name: 'a client id', body: () => json(validEvent({ event_id: '3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e4f' })), status: 202 },
    { name: 'an invalid field', body: () => json(validEvent({ path: '' })), status: 400 },
    { name: 'an unknown field', body: () => json(validEvent({ ip_address: '1.2.3.4' })), status: 400 },
    { name: 'no JSON', body: () => Buffer.from('{"site_id":'), status: 400 },
    { name: 'not UTF-8', body: () => Buffer.from([0x7b, 0xff, 0x7d]), status: 400 },
    { name: 'an empty body', body: () => Buffer.alloc(0), status: 400 },
    { name: 'no Content-Type', body: () => json(validEvent()), headers: { 'content-type': '' }, status: 415 },
    { name: 'a latin-1 charset', body: () => json(validEvent()), headers: { 'content-type': 'application/json; charset=latin1' }, status: 415 },
    { name: 'an unknown Content-Encoding', body: () => json(validEvent()), headers: { ...type, 'content-encoding': 'zstd' }, status: 415 },
    { name: 'a body over the limit', body: () => Buffer.alloc(pipeline.config.INGEST_BODY_LIMIT_BYTES + 1, 0x20), status: 413 },
  ];

  const comparable = (s: Sent) => {
    const headers = Object.fromEntries([...s.headers.entries()].filter(([k]) => k !== 'date'));
    const body = s.body && typeof s.body.event_id === 'string' && !s.body.event_id.startsWith('3f2b8c1e') ? { ...s.body, event_id: '(assigned)' } : s.body;
    return { status: s.status, headers, body: body ?? s.text };
  };

  it.each(cases)('$name', async ({ body, headers, status }) => {
    const hot = await send(`${pipeline.ingestUrl}/event`, body(), headers);
    const viaExpress = await send(`${pipeline.ingestUrl}/event?via=express`, body(), headers);
    expect(hot.status).toBe(status);
    expect(comparable(hot)).toEqual(comparable(viaExpress));
    // Not vacuous: helmet's headers and the JSON content type are there.
    expect(hot.headers.get('x-content-type-options')).toBe('nosniff');
    expect(hot.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('counts both in the request metrics under route "/event"', async () => {
    const metrics = await (await fetch(`${pipeline.ingestManagementUrl}/metrics`)).text();
    // Sum of a metric's samples whose labels include `labels` (in any order, beside the default ones).
    const sum = (name: string, labels: Record<string, string>) =>
      metrics
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`))
        .map((line) => ({ labels: Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]])), value: Number(line.split(' ').pop()) }))
        .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((total, s) => total + s.value, 0);
    // The model: every case above was sent twice, once per path.
    const sent = (status: number) => 2 * cases.filter((c) => c.status === status).length;
    for (const status of [202, 400, 413, 415]) {
      const count = sum('sitestream_http_request_duration_seconds_count', { route: '/event', method: 'POST', status: String(status) });
      expect({ status, count }).toEqual({ status, count: sent(status) });
    }
    for (const status of [400, 413, 415]) {
      const refused = sum('sitestream_ingest_requests_refused_total', { route: '/event', status: String(status) });
      expect({ status, refused }).toEqual({ status, refused: sent(status) });
    }
  });
});
