import type { Knex } from '@sitestream/db';

/** Every rollup row, in a stable order: what "rebuild equals live" compares. */
export async function rollupSnapshot(db: Knex): Promise<unknown[]> {
  const tables: [string, string][] = [
    ['analytics.daily_event_counts', 'site_id, day, event_type'],
    ['analytics.daily_path_views', 'site_id, day, path_hash'],
    ['analytics.daily_users', 'site_id, day, user_id'],
    ['analytics.daily_user_counts', 'site_id, day'],
  ];
  const out: unknown[] = [];
  for (const [table, order] of tables) {
    const rows = await db.raw<{ rows: unknown[] }>(`SELECT '${table}' AS t, * FROM ${table} ORDER BY ${order}`);
    out.push(...rows.rows);
  }
  return out;
}
