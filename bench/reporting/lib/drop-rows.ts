import type { Knex } from '@sitestream/db';

/**
 * "Rollups off" / "visits off", set up by the bench alone: a trigger drops every row headed for those tables,
 * so the write path runs unchanged but those writes vanish. The grouping (for visits: the look-up of stored
 * visits, which finds none, and the islands) still runs, so on − off is a lower bound of what they cost.
 */
export async function dropRows(db: Knex, tables: readonly string[]): Promise<void> {
  await db.raw(`CREATE FUNCTION analytics.bench_drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`);
  for (const table of tables) {
    await db.raw(`CREATE TRIGGER bench_drop_row BEFORE INSERT ON analytics.${table} FOR EACH ROW EXECUTE FUNCTION analytics.bench_drop_row()`);
  }
}
