import { InvalidArgumentError, type Command } from 'commander';
import { applyRetentionExclusively, deleteSite, eraseVisitor, setSiteRetention } from '@sitestream/db';
import type { AdminIo } from './program';

const wholeDays = (value: string): number | null => {
  if (value === 'default') return null;
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new InvalidArgumentError('must be a whole number of days from 1 to 999999, or "default"');
  return Number(value);
};

/** Retention, erasure of a visitor, deletion of a site (README "Data lifecycle"). */
export function addLifecycleCommands(program: Command, sites: Command, io: AdminIo): void {
  sites
    .command('set-retention')
    .description("keep a site's raw events for today and <days> previous days of its zone (then the retention job removes them)")
    .argument('<site_id>', 'the site')
    .argument('<days>', 'whole days, or "default" for RETENTION_DAYS', wholeDays)
    .option('--keep-aggregates', 'keep the daily counts (no personal data) of removed days; per-user rows go with the raw events')
    .action(async (siteId: string, days: number | null, opts: { keepAggregates?: boolean }) => {
      await io.withDb((db) => setSiteRetention(db, siteId, days, Boolean(opts.keepAggregates)));
      io.out(`${siteId}: retention ${days === null ? 'default (RETENTION_DAYS)' : `${days} days`}${opts.keepAggregates ? ', aggregates kept' : ''}`);
    });
  sites
    .command('delete')
    .description('delete everything of a site (raw events, rollups, dead letters; keys lose it); a replay cannot bring it back')
    .argument('<site_id>', 'the site')
    .option('--yes', 'really delete it')
    .action(async (siteId: string, opts: { yes?: boolean }) => {
      if (!opts.yes) program.error(`this deletes every row of ${siteId}; repeat with --yes`, { exitCode: 2 });
      const d = await io.withDb((db) => deleteSite(db, siteId));
      io.out(`deleted ${siteId}: ${d.events} events, ${d.deadLetters} dead letters, ${d.keysDeleted} keys deleted, ${d.keysNarrowed} keys narrowed`);
    });

  program
    .command('visitors')
    .description('one visitor of a site')
    .command('erase')
    .description("erase a visitor: raw events, per-user rows, every rollup they counted in; later arrivals from before now are dropped")
    .requiredOption('--site <site_id>', 'the site')
    .requiredOption('--user <user_id>', "the visitor's user_id as the site sent it")
    .action(async (opts: { site: string; user: string }) => {
      const e = await io.withDb((db) => eraseVisitor(db, opts.site, opts.user));
      io.out(`erased a visitor of ${e.siteId}: ${e.events} events on ${e.days} days; rollups of those days recomputed; tombstone kept`);
    });

  program
    .command('retention')
    .description('raw-event retention per site')
    .command('run')
    .description('apply retention now (as the consumers do every RETENTION_INTERVAL_MS), unless another process is running it')
    .action(async () => {
      const done = await io.withDb((db) => applyRetentionExclusively(db, { defaultDays: io.retentionDefaultDays }));
      if (!done) program.error('another process is applying retention right now; try again later', { exitCode: 1 });
      for (const s of done) io.out(`${s.siteId}: kept from ${s.keptFrom} (${s.days} days): removed ${s.events} events, ${s.rollupRows} rollup rows`);
      if (done.length === 0) io.err('no site has a retention period (sites set-retention, RETENTION_DAYS)');
    });
}
