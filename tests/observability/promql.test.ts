import { metricNames } from './lib/promql';
import { parseExposition, sampleValue } from './lib/exposition';

describe('metricNames (what the dashboard and alert checks rely on)', () => {
  it('finds selected metrics and ignores functions, aggregations, labels, durations, strings and keywords', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(sitestream_http_request_duration_seconds_bucket{job="ingest", route=~"/event|/events"}[$__rate_interval])))',
      ),
    ).toEqual(['sitestream_http_request_duration_seconds_bucket']);
    expect(
      metricNames('sum by (reason) (increase(a_total{job="c"}[10m])) > 0 or sum by (reason) (a_total unless a_total offset 10m)'),
    ).toEqual(['a_total']);
    expect(metricNames('time() - max(last_commit_seconds) > 300 and on () sum(rate(accepted_total[5m])) > 1e3')).toEqual([
      'accepted_total',
      'last_commit_seconds',
    ]);
    expect(metricNames('deriv(sum(max by (partition) (lag))[10m:1m]) > 0')).toEqual(['lag']);
    expect(metricNames('up{job=~"ingest|consumer"} == 0')).toEqual(['up']);
    expect(metricNames('label_replace(x, "dst", "$1", "src", "(.*)") / ignoring(code) group_left y')).toEqual(['x', 'y']);
  });
});

describe('parseExposition', () => {
  it('reads families from # TYPE lines, histogram series into their family, and label names', () => {
    const families = parseExposition(
      [
        '# HELP h_seconds x',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{le="0.1",route="/a",service="s"} 1',
        'h_seconds_sum{route="/a",service="s"} 0.05',
        'h_seconds_count{route="/a",service="s"} 1',
        '# TYPE c_total counter',
        '# TYPE g gauge',
        'g{service="s",note="a \\"quoted\\" value"} 3',
      ].join('\n'),
    );
    expect([...families.keys()]).toEqual(['h_seconds', 'c_total', 'g']);
    expect([...(families.get('h_seconds')?.labels ?? [])].sort()).toEqual(['le', 'route', 'service']);
    expect(families.get('c_total')?.samples).toEqual([]);
    expect(sampleValue(families, 'h_seconds_count', { route: '/a' })).toBe(1);
    expect(sampleValue(families, 'g', { note: 'a \\"quoted\\" value' })).toBe(3);
  });
});
