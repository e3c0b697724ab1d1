import { resolve } from 'node:path';
import * as current from '@sitestream/db';
import { benchDatabaseUrl, silentLogger } from './lib/bench-db';
import { runBench } from './lib/measure';

/*
 * One of the big site's days of the query API built (buildQueryDay: its rows and facts) by this build and by
 * another checkout's (its root as the first argument, `npx tsc -b shared/db` run there), ABBA, on the 10m bench
 * database: what a change to the build costs. The spans containing the day are dropped by each build; run
 * `npm run admin -- rollups build-query-days --site big-site` after. Usage: node bench/reporting/dist/build-day.js <other root> [day]
 */
async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other) throw new Error('usage: build-day.js <root of the other checkout> [day]');
  const day = process.argv[3] ?? '2025-10-15';
  const builds = { other: require(resolve(other, 'shared', 'db', 'dist', 'index.js')) as typeof current, this: current };
  const config = { DATABASE_URL: benchDatabaseUrl('sitestream_bench_reporting_10m'), DB_POOL_MAX: 2, DB_STATEMENT_TIMEOUT_MS: 0 };
  for (const which of ['other', 'this', 'this', 'other'] as const) {
    const db = builds[which].createDb(config, silentLogger, 'bench-build-day');
    try {
      const started = process.hrtime.bigint();
      const rows = await builds[which].buildQueryDay(db, 'big-site', day);
      console.log(`${which === 'this' ? 'this build' : `build at ${other}`}: ${day}, ${rows} rows in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
    } finally {
      await db.destroy();
    }
  }
}

runBench(main);
