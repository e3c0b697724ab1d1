import { randomUUID } from 'node:crypto';
import { buildStaleQueryDays, createApiKey, type Knex } from '@sitestream/db';
import { decodeRecord, writeBatch } from '@sitestream/consumer';
import { startReportingService } from '@sitestream/reporting';
import { createLogger, type Config, type RunningService } from '@sitestream/shared';
import { postJson, testConfig } from '../helpers/pipeline';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

/**
 * POST /api/v2/query is held to /stats' rules: queries over more than one day share the process's range gate
 * (past REPORTING_MAX_CONCURRENT_RANGES: 503 BUSY) while one-day queries still find a connection, and a client
 * that disconnects stops its query. "Slow" is made certain: the test locks analytics.visits, which a filtered
 * query of visit metrics reads (the per-day facts hold event metrics only) and the one-day answer from the per-day
 * rows does not.
 */
describe('the query API between clients', () => {
  let database: TestDatabase;
  let reporting: RunningService;
  let config: Config;
  const keys: string[] = [];
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const RANGE = { site_id: 'site-a', metrics: ['visitors', 'visits'], date_range: ['2025-11-16', '2025-11-17'], dimensions: ['visit:source'], filters: [['is', 'visit:country', ['DE']]] };
  const DAY = { site_id: 'site-a', metrics: ['visitors', 'pageviews'], date_range: ['2025-11-16', '2025-11-16'], dimensions: ['event:page'] };
  const ask = (body: unknown, key: string, signal?: AbortSignal) =>
    fetch(`${reporting.url}/api/v2/query`, { method: 'POST', headers: { ...bearer(key), 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

  const waitingOnLock = async (db: Knex): Promise<number> => {
    const { rows } = await db.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'sitestream-reporting' AND wait_event_type = 'Lock'`,
    );
    return rows[0]!.n;
  };
  const lockVisits = async (): Promise<Knex.Transaction> => {
    const tx = await database.db.transaction();
    await tx.raw('LOCK TABLE analytics.visits IN ACCESS EXCLUSIVE MODE');
    return tx;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const records = ['2025-11-16T10:00:00Z', '2025-11-16T10:05:00Z', '2025-11-17T09:00:00Z'].map((timestamp, i) =>
      decodeRecord(String(i), Buffer.from(JSON.stringify({ event_id: randomUUID(), site_id: 'site-a', event_type: 'page_view', path: `/p${i}`, user_id: 'u1', timestamp, received_at: timestamp }))),
    );
    await writeBatch(database.db, { group: 'g', topic: 't', partition: 0, records });
    expect((await buildStaleQueryDays(database.db)).days).toBe(2);
    for (let i = 0; i < 8; i++) keys.push((await createApiKey(database.db, { name: `k${i}` })).key);
    config = testConfig({ DATABASE_URL: database.url, REPORTING_STATEMENT_TIMEOUT_MS: 60_000, DB_POOL_MAX: 10, REPORTING_QUERY_ROLLUP_INTERVAL_MS: 0 });
    reporting = await startReportingService(config, createLogger(config, 'reporting'));
  });
  afterAll(async () => {
    await reporting?.stop();
    await database?.drop();
  });

  it('range queries past the range gate answer 503 BUSY; a one-day query is still answered', async () => {
    const limit = config.REPORTING_MAX_CONCURRENT_RANGES;
    const lock = await lockVisits();
    let held: Promise<number>[] = [];
    try {
      // One key each, so that the per-key limit is not what refuses them.
      held = keys.slice(0, limit).map((key) => ask(RANGE, key).then((r) => r.status));
      await waitFor(async () => (await waitingOnLock(database.db)) === limit || undefined, { what: 'range queries waiting on the lock', timeoutMs: 20_000 });
      for (const key of keys.slice(limit, limit + 2)) {
        const refused = await ask(RANGE, key, AbortSignal.timeout(8000));
        expect([refused.status, refused.headers.get('retry-after'), (JSON.parse(await refused.text()) as { error: { code: string } }).error.code]).toStrictEqual([503, '1', 'BUSY']);
      }
      const day = await ask(DAY, keys[limit + 2]!, AbortSignal.timeout(8000));
      expect([day.status, day.headers.get('sitestream-query-plan')]).toStrictEqual([200, 'rollups']);
      // Parsed with this realm's JSON: fetch's own .json() builds objects jest's strict equality rejects.
      expect((JSON.parse(await day.text()) as { results: unknown[] }).results).toStrictEqual([{ dimensions: ['/p0'], metrics: [1, 1] }, { dimensions: ['/p1'], metrics: [1, 1] }]);
    } finally {
      await lock.rollback();
    }
    expect(await Promise.all(held)).toStrictEqual(Array(limit).fill(200));
    // The gate was left by every one of them: as many can run again.
    expect((await ask(RANGE, keys[0]!)).status).toBe(200);
  });

  it('when a client disconnects, its query is cancelled and its connection freed', async () => {
    const lock = await lockVisits();
    try {
      const leaving = new AbortController();
      const request = ask(RANGE, keys[0]!, leaving.signal).catch(() => 'aborted');
      await waitFor(async () => (await waitingOnLock(database.db)) === 1 || undefined, { what: 'the query waiting on the lock', timeoutMs: 20_000 });
      leaving.abort();
      expect(await request).toBe('aborted');
      // The lock is still held: only a cancel can end the query this soon (its statement timeout is a minute).
      await waitFor(async () => (await waitingOnLock(database.db)) === 0 || undefined, { what: 'the query cancelled', timeoutMs: 10_000 });
    } finally {
      await lock.rollback();
    }
    const again = await postJson(`${reporting.url}/api/v2/query`, RANGE, bearer(keys[0]!));
    expect(again.status).toBe(200);
  });
});
