const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2', 'inf', 'nan', 'start', 'end']);

/** Grafana's interval variables become a plain duration so the expression is ordinary PromQL. */
export function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '1m').replace(/\$\{?__range_s\}?/g, '60');
}

/**
 * The metric names a PromQL expression selects: every identifier that is not a function or aggregation
 * (followed by "("), a keyword, a label name inside {…} or by/without/on/ignoring (…), a duration, or a
 * string. Good enough for our own expressions; each is also parsed by promtool in the rules test.
 */
export function metricNames(expr: string): string[] {
  let s = substituteGrafanaVariables(expr);
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^{}]*\}/g, ' ');
  s = s.replace(/\[[^\[\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g, ' ');
  const names = new Set<string>();
  const token = /(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*)|([a-zA-Z_:][a-zA-Z0-9_:]*)/g;
  for (const m of s.matchAll(token)) {
    const ident = m[2];
    if (!ident || KEYWORDS.has(ident.toLowerCase())) continue;
    const after = s.slice((m.index ?? 0) + ident.length);
    if (/^\s*\(/.test(after)) continue;
    names.add(ident);
  }
  return [...names].sort();
}
