import type { Knex } from 'knex';
import * as initial from './migrations/001_website_events';
import * as sitesAndRollups from './migrations/002_sites_and_rollups';
import * as apiKeys from './migrations/003_api_keys';
import * as deadLetterOutbox from './migrations/004_dead_letter_outbox';
import * as eventContext from './migrations/005_event_context';
import * as visits from './migrations/006_visits';
import * as dataLifecycle from './migrations/007_data_lifecycle';
import * as queryRollups from './migrations/008_query_rollups';
import * as positionsCluster from './migrations/009_positions_cluster';
import * as queryFacts from './migrations/010_query_facts';
import * as deadLettersCluster from './migrations/011_dead_letters_cluster';
import * as queryProps from './migrations/012_query_props';
import * as querySpans from './migrations/013_query_spans';
import * as queryFactsCountry from './migrations/014_query_facts_country';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Migrations are listed here rather than discovered on disk, so the same list runs from compiled
// JavaScript (npm start, Docker) and from TypeScript under jest.
const migrations: Record<string, Migration> = {
  '001_website_events': initial,
  '002_sites_and_rollups': sitesAndRollups,
  '003_api_keys': apiKeys,
  '004_dead_letter_outbox': deadLetterOutbox,
  '005_event_context': eventContext,
  '006_visits': visits,
  '007_data_lifecycle': dataLifecycle,
  '008_query_rollups': queryRollups,
  '009_positions_cluster': positionsCluster,
  '010_query_facts': queryFacts,
  '011_dead_letters_cluster': deadLettersCluster,
  '012_query_props': queryProps,
  '013_query_spans': querySpans,
  '014_query_facts_country': queryFactsCountry,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

const options: Knex.MigratorConfig = { migrationSource: source, tableName: 'knex_migrations', schemaName: 'public' };

/** Applies every pending migration; returns the names applied. Safe to run concurrently (knex locks). */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(options)) as [number, string[]];
  return applied;
}

export async function migrateRollbackAll(db: Knex): Promise<void> {
  await db.migrate.rollback(options, true);
}
