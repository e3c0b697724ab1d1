import { buildStaleQueryDays, createDb, withAdvisoryLock } from '@sitestream/db';
import type { Component, Config, Logger } from '@sitestream/shared';

const LOCK = 'sitestream-query-rollups';
// A big site's day takes seconds to build; a tick builds a bounded number of days so stopping is never long.
const DAYS_PER_TICK = 50;

/**
 * The background job that keeps the query API's per-day rows (shared/db/src/query-rollups.ts) built for closed
 * days and rebuilt for days that late events, erasures or retention changed — outside the consumer's write
 * path. One reporting process at a time does the work (advisory lock); its own small pool has no reporting
 * statement timeout, since building a big site's day takes longer than an answer may.
 */
export function startQueryRollupJob(config: Config, logger: Logger): Component {
  const intervalMs = config.REPORTING_QUERY_ROLLUP_INTERVAL_MS;
  const db = createDb({ ...config, DB_POOL_MAX: 2, DB_STATEMENT_TIMEOUT_MS: 0 }, logger, 'sitestream-query-rollups');
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      const summary = await withAdvisoryLock(db, LOCK, () => buildStaleQueryDays(db, { maxDays: DAYS_PER_TICK }));
      if (summary && summary.days + summary.spans + summary.swept > 0) logger.info({ days: summary.days, rows: summary.rows, spans: summary.spans, swept: summary.swept }, 'query rollups built');
    } catch (err) {
      // The next tick tries again; until then the affected days are answered from the raw tables.
      if (!stopped) logger.warn({ err }, 'query rollups: building failed');
    }
  };
  const timer = intervalMs > 0
    ? setInterval(() => {
        running ??= tick().finally(() => (running = undefined));
      }, intervalMs)
    : undefined;
  timer?.unref();
  return {
    id: 'query-rollups',
    isReady: () => true,
    close: async () => {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
      await db.destroy();
    },
  };
}
