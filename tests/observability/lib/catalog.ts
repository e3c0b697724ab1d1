import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './tools';

export interface CatalogEntry {
  name: string;
  type: string;
  labels: string[];
  services: string[];
  status: 'exported' | 'planned';
}

export const CATALOG_PATH = join(ROOT, 'docs', 'metrics.md');

/** The rows of docs/metrics.md's catalog table: | `metric` | type | `label`, … | service, … | status | question |. */
export function readCatalog(path = CATALOG_PATH): Map<string, CatalogEntry> {
  const entries = new Map<string, CatalogEntry>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // cells[0] is the empty text before the first pipe.
    const name = /^`(sitestream_[a-z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const [, , type = '', labels = '', services = '', status = ''] = cells;
    if (status !== 'exported' && status !== 'planned') throw new Error(`docs/metrics.md: ${name} has status "${status}" (exported or planned)`);
    if (entries.has(name)) throw new Error(`docs/metrics.md: ${name} is listed twice`);
    entries.set(name, {
      name,
      type,
      labels: [...labels.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? ''),
      services: services.split(',').map((s) => s.trim()).filter(Boolean),
      status,
    });
  }
  return entries;
}
