import { readFileSync } from 'node:fs';

/**
 * `node bench/pipeline/dist/pipeline/heap-diff.js <earlier.heapsnapshot> <later.heapsnapshot>`: what grew between
 * two V8 heap snapshots (bench:soak --heap-snapshots takes them), summed by kind and constructor name — the
 * objects a leak leaves behind show as the rows whose count and bytes climb. Self sizes only (no retainers):
 * enough to name the objects; DevTools then shows who holds them.
 */
interface Group {
  count: number;
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function groups(path: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const byKey = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const kind = types[snap.nodes[i + type]!]!;
    // Strings and code are grouped by kind alone: their "names" are their contents.
    const label = kind === 'object' || kind === 'closure' || kind === 'native' ? `${kind} ${snap.strings[snap.nodes[i + name]!]}` : kind;
    const g = byKey.get(label) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += snap.nodes[i + size]!;
    byKey.set(label, g);
  }
  return byKey;
}

function main(): void {
  const [earlierPath, laterPath, top = '30'] = process.argv.slice(2);
  if (!earlierPath || !laterPath) throw new Error('usage: heap-diff.js <earlier.heapsnapshot> <later.heapsnapshot> [rows]');
  const earlier = groups(earlierPath);
  const later = groups(laterPath);
  const total = (m: Map<string, Group>) => [...m.values()].reduce((n, g) => n + g.bytes, 0) / 2 ** 20;
  console.log(`heap: ${total(earlier).toFixed(1)} MB → ${total(later).toFixed(1)} MB`);
  const rows = [...new Set([...earlier.keys(), ...later.keys()])].map((key) => {
    const a = earlier.get(key) ?? { count: 0, bytes: 0 };
    const b = later.get(key) ?? { count: 0, bytes: 0 };
    return { key, a, b, grew: b.bytes - a.bytes };
  });
  rows.sort((x, y) => y.grew - x.grew);
  console.log('| grew (kB) | count before → after | kB before → after | kind and constructor |');
  console.log('|---:|---:|---:|---|');
  for (const r of rows.slice(0, Number(top))) {
    console.log(`| ${(r.grew / 1024).toFixed(0)} | ${r.a.count} → ${r.b.count} | ${(r.a.bytes / 1024).toFixed(0)} → ${(r.b.bytes / 1024).toFixed(0)} | ${r.key} |`);
  }
}

main();
