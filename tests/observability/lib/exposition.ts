/** One metric family as a service serves it: `# TYPE` name and type, and the label names its samples carry. */
export interface Family {
  name: string;
  type: string;
  labels: Set<string>;
  samples: Sample[];
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses the Prometheus text exposition format (what /metrics answers). Families come from `# TYPE`
 * lines, so a labelled metric that has no sample yet is still found; histogram series (`_bucket`,
 * `_sum`, `_count`) belong to their family.
 */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(/\s+/);
      if (name && type) families.set(name, { name, type, labels: new Set(), samples: [] });
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const [, seriesName = '', rawLabels = '', rawValue = ''] = m;
    const labels: Record<string, string> = {};
    for (const l of rawLabels.matchAll(LABEL)) labels[l[1] ?? ''] = l[2] ?? '';
    const family = familyOf(seriesName, families);
    if (!family) throw new Error(`sample ${seriesName} has no # TYPE line`);
    family.samples.push({ name: seriesName, labels, value: Number(rawValue) });
    for (const k of Object.keys(labels)) family.labels.add(k);
  }
  return families;
}

/** The family a series name belongs to: itself, or a histogram/summary family for _bucket/_sum/_count. */
export function familyOf<T extends { type: string }>(series: string, families: Map<string, T>): T | undefined {
  const direct = families.get(series);
  if (direct) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (!m) return undefined;
  const base = families.get(m[1] ?? '');
  if (!base) return undefined;
  if (base.type === 'histogram' || (base.type === 'summary' && m[2] !== 'bucket')) return base;
  return undefined;
}

/** The value of the one sample of `name` whose labels include `match`, or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, match: Record<string, string> = {}): number | undefined {
  const family = familyOf(name, families);
  const hit = family?.samples.find((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return hit?.value;
}
