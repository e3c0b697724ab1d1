import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One built file, held in memory with its gzip form: the whole dashboard is a few tens of kilobytes. */
export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

export interface DashboardAssets {
  /** The build's content hash: assets live under /assets/<version>/, so they can be cached forever. */
  version: string;
  index: Asset;
  files: Map<string, Asset>;
}

/** Where reporting/dashboard/build.mjs writes (from reporting/dist or reporting/src alike). */
export const DASHBOARD_DIST = resolve(__dirname, '..', 'dashboard', 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function asset(path: string): Asset {
  const body = readFileSync(path);
  return { type: TYPES[extname(path)] ?? 'application/octet-stream', body, gzip: gzipSync(body, { level: 9 }) };
}

/** The built dashboard, or undefined when this checkout has not built it (the API is served all the same). */
export function loadDashboardAssets(dir = DASHBOARD_DIST): DashboardAssets | undefined {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string; files: string[] };
  const files = new Map(manifest.files.map((name) => [name, asset(join(dir, 'assets', manifest.version, name))]));
  return { version: manifest.version, index: asset(join(dir, 'index.html')), files };
}
