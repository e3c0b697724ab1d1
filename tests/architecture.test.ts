import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The package graph (docs/architecture.md): which workspace may import which. Checked on the source, test files
 * included, so a new import that points the wrong way (or closes a cycle) fails here rather than in review.
 */
const ROOT = resolve(__dirname, '..');
const PACKAGES: Record<string, { dir: string; may: string[] }> = {
  shared: { dir: 'shared/src', may: [] },
  db: { dir: 'shared/db/src', may: ['shared'] },
  ingest: { dir: 'ingest/src', may: ['shared'] },
  consumer: { dir: 'consumer/src', may: ['shared', 'db'] },
  reporting: { dir: 'reporting/src', may: ['shared', 'db'] },
  infra: { dir: 'infra/src', may: ['shared', 'db'] },
};
// Unit tests beside the code may use these test helpers, which import only shared and db themselves.
const TEST_HELPERS_FOR_UNIT_TESTS = ['tests/helpers/test-database.ts', 'tests/helpers/wait-for.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'dist' || name === 'node_modules' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g)].map((m) => m[1]!);
}

function packageOf(file: string): string | undefined {
  const rel = relative(ROOT, file);
  // The longest directory wins: shared/db/src lies inside shared/.
  return Object.entries(PACKAGES)
    .filter(([, p]) => rel.startsWith(`${p.dir}/`))
    .sort((a, b) => b[1].dir.length - a[1].dir.length)[0]?.[0];
}

describe('package graph', () => {
  const problems: string[] = [];
  const edges = new Set<string>();
  for (const [name, pkg] of Object.entries(PACKAGES)) {
    for (const file of sourceFiles(join(ROOT, pkg.dir))) {
      if (packageOf(file) !== name) continue;
      for (const spec of imports(file)) {
        const rel = relative(ROOT, file);
        const workspace = /^@sitestream\/([a-z]+)$/.exec(spec)?.[1];
        if (workspace) {
          edges.add(`${name} -> ${workspace}`);
          if (!pkg.may.includes(workspace)) problems.push(`${rel} imports @sitestream/${workspace}`);
        } else if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          const targetRel = relative(ROOT, target);
          const isTestHelper = rel.endsWith('.test.ts') && TEST_HELPERS_FOR_UNIT_TESTS.includes(`${targetRel}.ts`);
          if (packageOf(`${target}.ts`) !== name && packageOf(join(target, 'index.ts')) !== name && !isTestHelper) {
            problems.push(`${rel} reaches outside its package: ${spec}`);
          }
        }
      }
    }
  }

  it('every import points the allowed way (no service imports another, infra imports no service)', () => {
    expect(problems).toEqual([]);
  });

  it('the test helpers that unit tests use import only shared and db', () => {
    const reached = TEST_HELPERS_FOR_UNIT_TESTS.flatMap((f) => imports(join(ROOT, f)).filter((s) => s.startsWith('@sitestream/') && !['@sitestream/shared', '@sitestream/db'].includes(s)));
    expect(reached).toEqual([]);
  });

  it('is the graph docs/architecture.md draws', () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    for (const edge of edges) expect(doc).toContain(edge.replace(/(\w+) -> (\w+)/, '$1 → $2'));
  });
});
