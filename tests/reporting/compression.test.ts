import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { decodeRecord, writeBatch } from '@sitestream/consumer';
import { createApiKey } from '@sitestream/db';
import { startReportingService } from '@sitestream/reporting';
import { createLogger, type RunningService } from '@sitestream/shared';
import { testConfig } from '../helpers/pipeline';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** node:http, not fetch: fetch decodes a compressed answer itself and would hide what came over the wire. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Reporting's answers are compressed when the client accepts it, and decode to exactly the uncompressed answer. */
describe('reporting answers compressed', () => {
  let database: TestDatabase;
  let reporting: RunningService;
  let key: string;
  const site = 'site-compressed';
  // 300 pages: a breakdown by page is ~15 kB of JSON, well over the 1 kB below which nothing is compressed.
  const paths = Array.from({ length: 300 }, (_, i) => `/articles/${String(i).padStart(3, '0')}-a-long-enough-slug`);

  beforeAll(async () => {
    database = await createTestDatabase();
    const events = paths.map((path, i) => ({
      event_id: randomUUID(), site_id: site, event_type: 'page_view', path, user_id: `u${i % 40}`,
      timestamp: `2025-11-16T10:${String(i % 60).padStart(2, '0')}:00Z`, received_at: '2025-11-16T11:00:00Z',
    }));
    await writeBatch(database.db, { group: 'g', topic: 't', partition: 0, records: events.map((e, i) => decodeRecord(String(i), Buffer.from(JSON.stringify(e)))) });
    key = (await createApiKey(database.db, { siteIds: [site] })).key;
    const config = testConfig({ DATABASE_URL: database.url });
    reporting = await startReportingService(config, createLogger(config, 'reporting'));
  });
  afterAll(async () => {
    await reporting?.stop();
    await database?.drop();
  });

  const query = (accept: string, encoding?: string) =>
    send(`${reporting.url}/api/v2/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept, ...(encoding ? { 'accept-encoding': encoding } : {}) },
      body: JSON.stringify({ site_id: site, metrics: ['visitors', 'pageviews'], date_range: ['2025-11-16', '2025-11-16'], dimensions: ['event:page'], order_by: [['event:page', 'asc']] }),
    });
  const withoutVolatile = (body: Buffer) => {
    const parsed = JSON.parse(body.toString('utf8')) as { meta: Record<string, unknown> };
    delete parsed.meta.data_as_of;
    return parsed;
  };

  it('a query answer: gzip and br when accepted, identity otherwise, the same rows either way', async () => {
    const plain = await query('application/json');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const rows = (JSON.parse(plain.body.toString('utf8')) as { results: { dimensions: string[]; metrics: number[] }[] }).results;
    // The rows themselves, against what was written: one view and one visitor per page.
    expect(rows).toEqual(paths.map((p) => ({ dimensions: [p], metrics: [1, 1] })));

    const gzip = await query('application/json', 'gzip');
    expect(gzip.status).toBe(200);
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(String(gzip.headers.vary)).toMatch(/accept-encoding/i);
    const gunzipped = gunzipSync(gzip.body);
    expect(gzip.body.length).toBeLessThan(gunzipped.length / 4);
    expect(withoutVolatile(gunzipped)).toEqual(withoutVolatile(plain.body));

    const br = await query('application/json', 'br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(withoutVolatile(brotliDecompressSync(br.body))).toEqual(withoutVolatile(plain.body));
  });

  it('CSV and the OpenAPI document too', async () => {
    const csvPlain = await query('text/csv');
    const csvGzip = await query('text/csv', 'gzip');
    expect(csvGzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(csvGzip.body).toString('utf8')).toBe(csvPlain.body.toString('utf8'));
    expect(csvPlain.body.toString('utf8').split('\n').filter(Boolean)).toHaveLength(1 + paths.length);

    const doc = await send(`${reporting.url}/openapi.json`, { headers: { 'accept-encoding': 'gzip' } });
    expect(doc.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(doc.body).toString('utf8')).openapi).toMatch(/^3\./);
  });

  it("the dashboard's files keep their own gzip (not compressed twice)", async () => {
    const page = await send(`${reporting.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(page.body).toString('utf8')).toMatch(/^<!doctype html>/i);
  });
});
