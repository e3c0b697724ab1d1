import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..', '..');

/**
 * The absolute path of a command-line tool the observability tests need, or an error saying how to get
 * it. A missing tool fails the test: a check that silently skips is no check. `.ci/run` installs them.
 */
export function requireTool(name: string, install: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) {
    throw new Error(`${name} is not installed, so this check cannot run. Install it: ${install} (.ci/run does this in CI).`);
  }
  return path;
}

export function run(command: string, args: string[], options: { cwd?: string; input?: string } = {}): SpawnSyncReturns<string> & { output_: string } {
  const result = spawnSync(command, args, { cwd: options.cwd ?? ROOT, encoding: 'utf8', input: options.input, timeout: 60_000 });
  if (result.error) throw result.error;
  return Object.assign(result, { output_: `${result.stdout ?? ''}${result.stderr ?? ''}` });
}
