import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * One registry per service instance (not prom-client's global one), so several services can run in
 * one test process without clashing, and so nothing registers metrics at import time.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'sitestream_' });
  const buildInfo = new Gauge({
    name: 'sitestream_build_info',
    help: 'Build information; always 1',
    labelNames: ['version', 'commit', 'node'] as const,
    registers: [registry],
  });
  buildInfo.set(
    { version: packageVersion(), commit: process.env.GIT_COMMIT ?? 'unknown', node: process.version },
    1,
  );
  return registry;
}

/** The version in shared/package.json (the workspaces are released together); npm's env var is absent under plain `node`. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
