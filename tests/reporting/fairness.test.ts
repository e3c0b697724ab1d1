import { randomUUID } from 'node:crypto';
import { createApiKey, type Knex } from '@sitestream/db';
import { decodeRecord, writeBatch } from '@sitestream/consumer';
import { startReportingService } from '@sitestream/reporting';
import { createLogger, type Config, type RunningService } from '@sitestream/shared';
import { getJson, testConfig } from '../helpers/pipeline';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

/**
 * One client cannot hurt another: an address that sends requests without a key cannot lock out a valid key; one
 * key's flood of range requests cannot take the pool from another key's one-day request; a client that
 * disconnects stops its query. "Slow" is made certain, not timed: the test holds a lock on the table only range
 * queries read (analytics.daily_users), so every range query waits for as long as the test wants.
 */
describe('reporting fairness between clients', () => {
  let database: TestDatabase;
  let reporting: RunningService;
  let config: Config;
  const keys: Record<string, string> = {};
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const url = (query: string) => `${reporting.url}/stats?site_id=site-a&${query}`;
  const DAY = 'date=2025-11-16';
  const RANGE = 'from=2025-01-01&to=2025-12-31';

  /** Reporting backends of this test's database waiting for a lock: range queries stuck behind the test's lock. */
  const waitingOnLock = async (db: Knex): Promise<number> => {
    const { rows } = await db.raw<{ rows: { n: number }[] }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'sitestream-reporting' AND wait_event_type = 'Lock'`,
    );
    return rows[0]!.n;
  };
  const holdRangeLock = async (): Promise<Knex.Transaction> => {
    const tx = await database.db.transaction();
    await tx.raw('LOCK TABLE analytics.daily_users IN ACCESS EXCLUSIVE MODE');
    return tx;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const event = { event_id: randomUUID(), site_id: 'site-a', event_type: 'page_view', path: '/p', user_id: 'u1', timestamp: '2025-11-16T10:00:00Z', received_at: '2025-11-16T10:00:01Z' };
    await writeBatch(database.db, { group: 'g', topic: 't', partition: 0, records: [decodeRecord('0', Buffer.from(JSON.stringify(event)))] });
    for (const name of ['nat', 'flood', 'quiet', 'leaver']) keys[name] = (await createApiKey(database.db, { name })).key;
    config = testConfig({ DATABASE_URL: database.url, REPORTING_STATEMENT_TIMEOUT_MS: 60_000, DB_POOL_MAX: 10 });
    reporting = await startReportingService(config, createLogger(config, 'reporting'));
  });
  afterAll(async () => {
    await reporting?.stop();
    await database?.drop();
  });

  it('after more requests without a key than the failure limit, a valid key from the same address still gets 200', async () => {
    for (let i = 0; i < config.REPORTING_AUTH_FAILURES_PER_MINUTE; i++) expect((await getJson(url(DAY))).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await getJson(url(DAY), { authorization: 'Bearer not-a-key' })).status).toBe(401);
    expect((await getJson(url(DAY), bearer(keys.nat!))).status).toBe(200);
  });

  it("while one key floods range requests that hold on, another key's one-day request is answered", async () => {
    const lock = await holdRangeLock();
    const flood: Promise<number>[] = [];
    try {
      let answered = 0;
      for (let i = 0; i < 40; i++) {
        flood.push(
          fetch(url(RANGE), { headers: bearer(keys.flood!) }).then((r) => {
            answered++;
            return r.status;
          }),
        );
      }
      await waitFor(async () => (await waitingOnLock(database.db)) > 0, { what: 'range queries waiting on the lock', timeoutMs: 20_000 });
      // Every request of the flood has reached the server (all but the admitted ones are answered) before the lock
      // goes: on a busy machine the last ones could otherwise arrive after it and be admitted.
      await waitFor(() => answered >= 40 - config.REPORTING_KEY_MAX_CONCURRENT, { what: 'the flood refused past the per-key cap', timeoutMs: 20_000 });
      // Unbounded, the flood holds all 10 pool connections and queues for more: this request never gets one.
      const quiet = await fetch(url(DAY), { headers: bearer(keys.quiet!), signal: AbortSignal.timeout(8000) });
      expect(quiet.status).toBe(200);
      expect(await waitingOnLock(database.db)).toBeLessThanOrEqual(config.REPORTING_KEY_MAX_CONCURRENT);
    } finally {
      await lock.rollback();
    }
    const statuses = await Promise.all(flood);
    expect(statuses.filter((s) => s === 200)).toHaveLength(config.REPORTING_KEY_MAX_CONCURRENT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - config.REPORTING_KEY_MAX_CONCURRENT);
  });

  it('when a client disconnects, its query is cancelled and its connection freed', async () => {
    const lock = await holdRangeLock();
    try {
      const leaving = new AbortController();
      const request = fetch(url(RANGE), { headers: bearer(keys.leaver!), signal: leaving.signal }).catch(() => 'aborted');
      await waitFor(async () => (await waitingOnLock(database.db)) === 1, { what: 'the range query waiting on the lock', timeoutMs: 20_000 });
      leaving.abort();
      expect(await request).toBe('aborted');
      // The lock is still held: only a cancel can end the query this soon (its statement timeout is a minute).
      await waitFor(async () => (await waitingOnLock(database.db)) === 0, { what: 'the query cancelled', timeoutMs: 10_000 });
    } finally {
      await lock.rollback();
    }
    expect((await getJson(url(RANGE), bearer(keys.leaver!))).status).toBe(200);
  });
});
