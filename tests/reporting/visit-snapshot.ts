import type { Knex } from '@sitestream/db';
import type { ModelVisit } from './visits-model';

/** The stored visits of sites whose id starts with `prefix`, shaped like the model's, in the model's order. */
export async function storedVisits(db: Knex, prefix: string): Promise<ModelVisit[]> {
  const iso = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const rows = await db.raw<{ rows: ModelVisit[] }>(
    `SELECT site_id, user_id, ${iso('started_at')} AS started_at, first_event_id::text, ${iso('ended_at')} AS ended_at,
            to_char(day, 'YYYY-MM-DD') AS day, events, pageviews, entry_path, exit_path
     FROM analytics.visits WHERE starts_with(site_id, ?) ORDER BY site_id COLLATE "C", user_id COLLATE "C", started_at`,
    [prefix],
  );
  return rows.rows;
}

/** Every visit row and day sum, all columns, in a stable order: what "rebuild equals live" compares. */
export async function visitTablesSnapshot(db: Knex): Promise<unknown[]> {
  const visits = await db.raw<{ rows: unknown[] }>('SELECT * FROM analytics.visits ORDER BY site_id, user_id, started_at');
  const days = await db.raw<{ rows: unknown[] }>('SELECT * FROM analytics.daily_visits WHERE (visits, bounces, pageviews, duration_us) <> (0, 0, 0, 0) ORDER BY site_id, day');
  return [...visits.rows, ...days.rows];
}
