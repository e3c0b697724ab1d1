import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createApiKey, revokeApiKey } from '@sitestream/db';
import { decodeRecord, writeBatch } from '@sitestream/consumer';
import { startReportingService } from '@sitestream/reporting';
import { createLogger, type Config, type RunningService } from '@sitestream/shared';
import { getJson, testConfig } from '../helpers/pipeline';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

/** Access control of /stats: who gets 401, 404 and 429, with which body, and what never leaks. */
describe('reporting access control', () => {
  let database: TestDatabase;
  let reporting: RunningService;
  let config: Config;
  let logs = '';
  const keys: Record<string, string> = {};
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const stats = (site: string, headers: Record<string, string> = {}, query = 'date=2025-11-16') =>
    getJson(`${reporting.url}/stats?site_id=${encodeURIComponent(site)}&${query}`, headers);

  const startReporting = async (overrides: Partial<Config>) => {
    const c = testConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'trace', ...overrides });
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((logs += chunk.toString()), done()) });
    return { config: c, service: await startReportingService(c, createLogger(c, 'reporting', sink)) };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    // Two sites with data, written through the consumer's own write path.
    const event = (site_id: string, user_id: string) => ({
      event_id: randomUUID(), site_id, event_type: 'page_view', path: '/p', user_id, timestamp: '2025-11-16T10:00:00Z', received_at: '2025-11-16T10:00:01Z',
    });
    const events = [event('site-a', 'u1'), event('site-a', 'u2'), event('site-b', 'u3')];
    await writeBatch(database.db, { group: 'g', topic: 't', partition: 0, records: events.map((e, i) => decodeRecord(String(i), Buffer.from(JSON.stringify(e)))) });
    keys.a = (await createApiKey(database.db, { siteIds: ['site-a'] })).key;
    keys.all = (await createApiKey(database.db, { name: 'everything' })).key;
    keys.revoked = (await createApiKey(database.db, { siteIds: ['site-a'] })).key;
    keys.expired = (await createApiKey(database.db, { siteIds: ['site-a'], expiresAt: new Date(Date.now() - 1000) })).key;
    keys.limited = (await createApiKey(database.db, { siteIds: ['site-a'] })).key;
    keys.ops = (await createApiKey(database.db, { name: 'timeouts' })).key;
    expect(await revokeApiKey(database.db, keys.revoked.slice(0, 16))).toBeDefined();
    ({ config, service: reporting } = await startReporting({ REPORTING_RATE_LIMIT_PER_MINUTE: 5, REPORTING_STATEMENT_TIMEOUT_MS: 500 }));
  });
  afterAll(async () => {
    await reporting?.stop();
    await database?.drop();
  });

  it('when the key is missing, malformed, of another scheme, unknown, revoked or expired, then 401 with one identical answer', async () => {
    const unknown = `ss_live_${'A'.repeat(32)}`;
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      malformed: bearer('not-a-key'),
      scheme: { authorization: `Basic ${Buffer.from(`x:${keys.a}`).toString('base64')}` },
      unknown: bearer(unknown),
      // Same public prefix as a real key, wrong secret: must fail on the constant-time hash comparison.
      wrongSecret: bearer(`${keys.a!.slice(0, 16)}${'B'.repeat(24)}`),
      revoked: bearer(keys.revoked!),
      expired: bearer(keys.expired!),
    };
    const answers = await Promise.all(Object.values(cases).map((h) => stats('site-a', h)));
    for (const r of answers) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="sitestream"');
    }
    expect(new Set(answers.map((r) => r.text)).size).toBe(1);
    expect(answers[0]!.body).toStrictEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    const metrics = await (await fetch(`${reporting.managementUrl}/metrics`)).text();
    for (const reason of ['missing', 'malformed', 'rejected']) {
      expect(metrics).toMatch(new RegExp(`sitestream_reporting_auth_failures_total\\{reason="${reason}"[^}]*\\} [1-9]`));
    }
    // Unknown, revoked and expired keys are one reason: the metric must not tell apart what the 401 hides.
    expect(metrics).not.toMatch(/sitestream_reporting_auth_failures_total\{reason="(unknown|revoked|expired)"/);
  });

  it('when a scoped key asks for a site outside its scope, then 404, the same whether that site has data or not', async () => {
    const own = await stats('site-a', bearer(keys.a!));
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ site_id: 'site-a', total_views: 2, unique_users: 2 });
    const existing = await stats('site-b', bearer(keys.a!));
    const missing = await stats('site-never-seen', bearer(keys.a!));
    expect(existing.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(existing.text).toBe(missing.text);
    expect(existing.body.error.code).toBe('SITE_NOT_FOUND');
  });

  it('when a key covers every site, then any site answers, an unknown one with zeros', async () => {
    expect((await stats('site-b', bearer(keys.all!))).body).toMatchObject({ site_id: 'site-b', total_views: 1, unique_users: 1 });
    expect((await stats('site-never-seen', bearer(keys.all!))).body).toMatchObject({ total_views: 0, unique_users: 0, top_paths: [], total_events: 0 });
  });

  it('checks the key before the query: a bad query without a key is 401, with a key 400', async () => {
    expect((await stats('site-a', {}, 'date=nonsense')).status).toBe(401);
    const r = await stats('site-a', bearer(keys.all!), 'date=nonsense');
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([{ field: 'date', message: expect.any(String) }]);
  });

  it('when one key exceeds its requests per minute, then 429 with Retry-After, and other keys are unaffected', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < config.REPORTING_RATE_LIMIT_PER_MINUTE + 1; i++) {
      last = await stats('site-a', bearer(keys.limited!));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last!.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(last!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await stats('site-a', bearer(keys.a!))).status).toBe(200);
    const metrics = await (await fetch(`${reporting.managementUrl}/metrics`)).text();
    expect(metrics).toMatch(/sitestream_reporting_rate_limited_requests_total\{limiter="api_key"[^}]*\} 1/);
  });

  it('when a client keeps failing key lookups, then keys not seen valid get 429 without a lookup', async () => {
    const strict = await startReporting({ REPORTING_AUTH_FAILURES_PER_MINUTE: 3 });
    try {
      const url = `${strict.service.url}/stats?site_id=site-a&date=2025-11-16`;
      for (let i = 0; i < 3; i++) expect((await getJson(url, bearer(`ss_live_${'C'.repeat(32)}`))).status).toBe(401);
      // A key this process has not seen valid is not looked up: a guesser over the limit learns nothing more.
      const blocked = await getJson(url, bearer(keys.all!));
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Requests without a key cost no lookup and do not count: they cannot block anyone.
      expect((await getJson(url)).status).toBe(401);
    } finally {
      await strict.service.stop();
    }
  });

  it('stores keys only as SHA-256 hashes, under a recognizable prefix', async () => {
    expect(keys.a).toMatch(/^ss_live_[A-Za-z0-9_-]{32}$/);
    const rows = await database.db.raw<{ rows: Record<string, unknown>[] }>('SELECT * FROM analytics.api_keys');
    const dump = JSON.stringify(rows.rows);
    for (const key of Object.values(keys)) expect(dump).not.toContain(key.slice(16));
    const stored = rows.rows.find((r) => r.key_prefix === keys.a!.slice(0, 16))!;
    expect((stored.key_hash as Buffer).equals(createHash('sha256').update(keys.a!).digest())).toBe(true);
  });

  it('cuts off a query that runs past the statement timeout with 503 QUERY_TIMEOUT', async () => {
    const blocker = await database.db.transaction();
    try {
      // A lock the stats query must wait for: it would wait forever without a statement timeout.
      await blocker.raw('LOCK TABLE analytics.daily_user_counts IN ACCESS EXCLUSIVE MODE');
      const r = await stats('site-a', bearer(keys.ops!));
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('QUERY_TIMEOUT');
    } finally {
      await blocker.rollback();
    }
    expect((await stats('site-a', bearer(keys.ops!))).status).toBe(200);
  });

  it('never writes a key, or its hash, to the logs', async () => {
    expect(logs.length).toBeGreaterThan(0);
    for (const key of Object.values(keys)) {
      expect(logs).not.toContain(key.slice(8));
      expect(logs).not.toContain(createHash('sha256').update(key).digest('hex'));
    }
  });
});
