import { Command, InvalidArgumentError, Option } from 'commander';
import { buildStaleQueryDays, createApiKey, listApiKeys, listSites, rebuildRollups, revokeApiKey, setSiteTimeZone, type ApiKey, type Knex } from '@sitestream/db';
import { parseCalendarDate } from '@sitestream/shared';
import { parseExpiry } from './expiry';
import { addLifecycleCommands } from './lifecycle-commands';

export interface AdminIo {
  /** Runs a command with a database connection, closed afterwards. */
  withDb<T>(run: (db: Knex) => Promise<T>): Promise<T>;
  /** RETENTION_DAYS, for `retention run`. */
  retentionDefaultDays: number;
  out(line: string): void;
  err(line: string): void;
}

const day = (value: string): string => {
  if (!parseCalendarDate(value)) throw new InvalidArgumentError('must be a real calendar date written YYYY-MM-DD');
  return value;
};
const expiry = (value: string): Date => {
  const when = parseExpiry(value);
  if (!when) throw new InvalidArgumentError('must be a future instant (2026-01-31T00:00:00Z), a day (2026-01-31) or a duration (90m, 12h, 30d)');
  return when;
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `npm run admin -- <command>`: API keys, sites (zones, retention, deletion), visitors, rollups. Every command has --help. */
export function buildAdminProgram(io: AdminIo): Command {
  const program = new Command('admin')
    .description('Sitestream administration: API keys, sites, visitors, retention, rollups (uses DATABASE_URL)')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const keys = program.command('keys').description('API keys for the reporting API');
  keys
    .command('create')
    .description('create a key and print it once (only its SHA-256 is stored)')
    .option('--site <site_id>', 'a site the key may read (repeat for several)', collect)
    .option('--all-sites', 'the key may read every site')
    .option('--expires <when>', 'expiry: 2026-01-31T00:00:00Z, 2026-01-31 or 30d/12h/90m', expiry)
    .option('--name <name>', 'a label shown by keys list', '')
    .action(async (opts: { site?: string[]; allSites?: boolean; expires?: Date; name: string }) => {
      if (Boolean(opts.site?.length) === Boolean(opts.allSites)) {
        program.error('give --site <site_id> (one or more) or --all-sites', { exitCode: 2 });
      }
      const { key, record } = await io.withDb((db) => createApiKey(db, { name: opts.name, siteIds: opts.site ?? null, expiresAt: opts.expires ?? null }));
      io.out(key);
      io.err(`created ${record.prefix} for ${scope(record)}${record.expiresAt ? `, expires ${record.expiresAt.toISOString()}` : ''}; it is not shown again`);
    });
  keys
    .command('list')
    .description('list keys (prefix, name, scope, status); never the keys themselves')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }) => {
      const all = await io.withDb((db) => listApiKeys(db));
      for (const k of all) {
        const row = { prefix: k.prefix, name: k.name, sites: k.siteIds, status: status(k), created_at: k.createdAt.toISOString(), expires_at: k.expiresAt?.toISOString() ?? null };
        io.out(opts.json ? JSON.stringify(row) : [row.prefix, row.status.padEnd(7), row.created_at, row.expires_at ?? 'no expiry', scope(k), row.name].join('  '));
      }
      if (!opts.json && all.length === 0) io.err('no keys');
    });
  keys
    .command('revoke')
    .description('revoke a key at once, by the prefix keys list shows (ss_live_XXXXXXXX)')
    .argument('<prefix>', 'the key prefix, or the whole key')
    .action(async (prefix: string) => {
      const revoked = await io.withDb((db) => revokeApiKey(db, prefix));
      if (!revoked) return program.error(`no key with prefix ${prefix.slice(0, 16)}`, { exitCode: 1 });
      io.out(`revoked ${revoked.prefix}`);
    });

  const sites = program.command('sites').description("sites and their time zones (a site's days are calendar days in its zone)");
  sites
    .command('set-timezone')
    .description("set a site's IANA time zone and rebuild its rollups in that zone, in one transaction")
    .argument('<site_id>', 'the site')
    .argument('<zone>', 'an IANA zone name, e.g. Europe/Paris, Asia/Kolkata, America/New_York, UTC')
    .action(async (siteId: string, zone: string) => {
      try {
        const change = await io.withDb((db) => setSiteTimeZone(db, siteId, zone));
        io.out(
          change.previous === change.timeZone
            ? `${siteId} already uses ${change.timeZone}`
            : `${siteId}: ${change.previous} -> ${change.timeZone}; rollups rebuilt from ${change.events} events`,
        );
      } catch (err) {
        program.error((err as Error).message, { exitCode: 1 });
      }
    });
  sites
    .command('list')
    .description('list sites: time zone, retention, oldest raw event')
    .action(async () => {
      for (const s of await io.withDb((db) => listSites(db))) {
        const retention = s.retention_days === null ? 'retention default' : `retention ${s.retention_days} days${s.keep_aggregates ? ' (aggregates kept)' : ''}`;
        io.out(`${s.site_id}  ${s.time_zone}  ${retention}  oldest event ${s.oldest_event ?? 'none'}`);
      }
    });
  addLifecycleCommands(program, sites, io);

  const rollups = program.command('rollups').description('the per-day aggregates reporting reads');
  rollups
    .command('rebuild')
    .description('recompute rollups from the raw events: idempotent, safe while the consumer writes')
    .option('--site <site_id>', 'only this site (default: every site)')
    .addOption(new Option('--from <day>', 'first local day to rebuild, YYYY-MM-DD (with --to)').argParser(day))
    .addOption(new Option('--to <day>', 'last local day to rebuild, YYYY-MM-DD (with --from)').argParser(day))
    .option('--quiet', 'print only the summary')
    .action(async (opts: { site?: string; from?: string; to?: string; quiet?: boolean }) => {
      if ((opts.from === undefined) !== (opts.to === undefined)) program.error('give both --from and --to, or neither', { exitCode: 2 });
      if (opts.from !== undefined && opts.to !== undefined && opts.from > opts.to) program.error('--from must not be after --to', { exitCode: 2 });
      const started = Date.now();
      const summary = await io.withDb((db) =>
        rebuildRollups(db, {
          siteId: opts.site,
          from: opts.from,
          to: opts.to,
          onSite: opts.quiet ? undefined : (p) => io.err(`${p.siteId}: ${p.events} events, ${p.transactions} transactions`),
        }),
      );
      io.out(`rebuilt ${summary.sites} sites from ${summary.events} events in ${summary.transactions} transactions, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
  rollups
    .command('build-query-days')
    .description("build the query API's per-day breakdowns of closed days that have none or are no longer exact, then the visitor sets of spans of those days (what reporting's background job does)")
    .option('--site <site_id>', 'only this site (default: every site)')
    .action(async (opts: { site?: string }) => {
      const started = Date.now();
      const summary = await io.withDb((db) => buildStaleQueryDays(db, { siteId: opts.site }));
      const swept = summary.swept > 0 ? `, ${summary.swept} values of erased visitors deleted` : '';
      io.out(`built ${summary.days} site days, ${summary.rows} rows, ${summary.spans} spans of days${swept}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });

  return program;
}

function status(k: ApiKey): string {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && k.expiresAt.getTime() <= Date.now()) return 'expired';
  return 'active';
}

function scope(k: ApiKey): string {
  return k.siteIds === null ? 'all sites' : `sites ${k.siteIds.join(', ')}`;
}
