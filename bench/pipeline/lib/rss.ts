import { readFileSync } from 'node:fs';
import type { Knex } from '@sitestream/db';

/**
 * Resident memory from /proc (Linux), in kB. `rss` is VmRSS, what the soak's target is about; `anon` is RssAnon,
 * the process's private memory. They differ most for PostgreSQL backends, whose VmRSS also counts the pages of
 * shared_buffers they have touched: that part grows towards shared_buffers and stops, it is not a leak.
 */
export interface Rss {
  rss: number;
  anon: number;
}

export function readRss(pid: number | undefined): Rss | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: field('VmRSS'), anon: field('RssAnon') };
  } catch {
    return undefined; // the process has exited
  }
}

export interface BackendGroup extends Rss {
  backends: number;
}

/**
 * The PostgreSQL backends serving `database`, grouped by the application_name their pools set, with their RSS
 * summed. A pool closes idle connections and opens new ones, so a group's sum moves with its backend count too.
 */
export async function backendRss(db: Knex, database: string, groups: Record<string, string[]>): Promise<Record<string, BackendGroup>> {
  const { rows } = await db.raw<{ rows: { pid: number; application_name: string }[] }>(
    "SELECT pid, application_name FROM pg_stat_activity WHERE datname = ? AND backend_type = 'client backend'",
    [database],
  );
  const result: Record<string, BackendGroup> = {};
  for (const [group, names] of Object.entries(groups)) {
    const sum: BackendGroup = { rss: 0, anon: 0, backends: 0 };
    for (const row of rows.filter((r) => names.includes(r.application_name))) {
      const rss = readRss(row.pid);
      if (!rss) continue; // ended between the query and the read
      sum.rss += rss.rss;
      sum.anon += rss.anon;
      sum.backends++;
    }
    result[group] = sum;
  }
  return result;
}
