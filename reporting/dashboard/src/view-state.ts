import type { Filter } from './api';

/**
 * What the dashboard shows, and all that its URL holds (shareable: never the key): site, range, comparison,
 * the chart's metric and the filters.
 */
export const RANGES = [
  ['day', 'Today'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['month', 'This month'], ['year', 'This year'], ['custom', 'Custom'],
] as const;
export type RangeName = (typeof RANGES)[number][0];
export const CHART_METRICS = [['visitors', 'Visitors'], ['pageviews', 'Page views'], ['visits', 'Visits']] as const;
export type ChartMetric = (typeof CHART_METRICS)[number][0];

export interface ViewState {
  site: string | null;
  range: RangeName;
  /** Both set when range is custom. */
  from?: string;
  to?: string;
  compare: boolean;
  metric: ChartMetric;
  filters: Filter[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const OPS = ['is', 'is_not', 'contains', 'contains_not'];

export function readState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const range = RANGES.find(([r]) => r === p.get('range'))?.[0] ?? '30d';
  const from = p.get('from') ?? '';
  const to = p.get('to') ?? '';
  const custom = range === 'custom' && DAY.test(from) && DAY.test(to);
  return {
    site: p.get('site') || null,
    range: range === 'custom' && !custom ? '30d' : range,
    ...(custom ? { from, to } : {}),
    compare: p.get('compare') !== '0',
    metric: CHART_METRICS.find(([m]) => m === p.get('metric'))?.[0] ?? 'visitors',
    filters: p.getAll('f').map(parseFilter).filter((f): f is Filter => f !== undefined),
  };
}

/** Each filter is one `f` parameter holding [op, dimension, values] as JSON: any value survives the round trip. */
function parseFilter(text: string): Filter | undefined {
  try {
    const f = JSON.parse(text) as unknown;
    if (!Array.isArray(f) || f.length !== 3) return undefined;
    const [op, dimension, values] = f as unknown[];
    if (typeof op !== 'string' || !OPS.includes(op) || typeof dimension !== 'string') return undefined;
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string')) return undefined;
    return [op, dimension, values as string[]];
  } catch {
    return undefined;
  }
}

export function writeState(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.site) p.set('site', s.site);
  p.set('range', s.range);
  if (s.range === 'custom' && s.from && s.to) {
    p.set('from', s.from);
    p.set('to', s.to);
  }
  if (!s.compare) p.set('compare', '0');
  if (s.metric !== 'visitors') p.set('metric', s.metric);
  for (const f of s.filters) p.append('f', JSON.stringify(f));
  return `?${p}`;
}

/** The query API's date_range for the state. */
export function dateRangeOf(s: ViewState): string | [string, string] {
  return s.range === 'custom' && s.from && s.to ? [s.from, s.to] : s.range;
}

/** One day is drawn by the hour, anything longer by the day. */
export function isSingleDay(s: ViewState): boolean {
  return s.range === 'day' || (s.range === 'custom' && s.from === s.to);
}

export function sameFilter(a: Filter, b: Filter): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
