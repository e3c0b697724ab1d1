import { eraseVisitor, lockQueryBuilds, lockSite } from '@sitestream/db';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

/**
 * An erasure that has to wait for a build of the site's query days (tens of seconds on a big site) waits before it
 * takes the site's lock, so the consumer keeps writing the site's events meanwhile.
 */
describe('erasure waiting for a query-days build', () => {
  let database: TestDatabase;
  const site = 'site-erasure-locks';

  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.transaction((trx) => lockSite(trx, site));
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("does not hold the site's lock while it waits", async () => {
    const { db } = database;
    const build = await db.transaction();
    await lockQueryBuilds(build, site);
    const erasing = eraseVisitor(db, site, 'user-1');
    try {
      // The erasure is waiting on the build's advisory lock.
      await waitFor(async () => {
        const r = await db.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        return r.rows[0]!.n > 0;
      }, { timeoutMs: 10_000, what: 'the erasure waiting for the build' });
      // What the consumer does for a batch of the site (site-lock.ts), with a short wait: it gets the lock.
      await db.transaction(async (trx) => {
        await trx.raw("SET LOCAL lock_timeout = '1s'");
        await trx.raw('SELECT 1 FROM analytics.sites WHERE site_id = ? FOR UPDATE', [site]);
      });
    } finally {
      await build.commit();
    }
    expect(await erasing).toEqual({ siteId: site, events: 0, days: 0 });
  });
});
