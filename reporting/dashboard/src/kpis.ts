import type { QueryAnswer } from './api';
import { fill, h, setBusy } from './dom';
import { formatChange, formatDuration, formatNumber, formatPercent } from './format';
import { METRIC_LABELS } from './panel-defs';
import { errorNotice, type Refresh } from './refresh';
import { dateRangeOf } from './view-state';

/** The six headline numbers, in this order in one query; for bounce rate a fall is the good direction. */
export const KPI_METRICS = ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration', 'views_per_visit'] as const;
const FORMAT: Record<string, (v: number | null) => string> = {
  bounce_rate: formatPercent, visit_duration: formatDuration,
};
const LOWER_IS_BETTER = new Set(['bounce_rate']);

export class Kpis {
  readonly el = h('section', { class: 'kpis', 'aria-label': 'Key figures', 'aria-live': 'polite' });

  /** Resolves with the answer (its meta and resolved dates serve the other widgets); rejects as the query did. */
  load(r: Refresh): Promise<QueryAnswer> {
    setBusy(this.el, true);
    if (!this.el.querySelector('.kpi')) fill(this.el, h('p', { class: 'muted' }, 'Loading…'));
    const answer = r.client.query({
      site_id: r.site,
      metrics: [...KPI_METRICS],
      date_range: dateRangeOf(r.state),
      filters: r.state.filters,
      ...(r.state.compare ? { include: { comparison: 'previous_period' } } : {}),
    }, r.signal);
    answer.then((a) => this.show(a, r.state.compare), (err: unknown) => {
      const notice = errorNotice(err, () => void this.load(r).catch(() => undefined));
      if (notice) fill(this.el, notice);
    }).finally(() => setBusy(this.el, false));
    return answer;
  }

  private show(answer: QueryAnswer, compare: boolean): void {
    const row = answer.results[0];
    if (!row) return fill(this.el, h('p', { class: 'muted' }, 'No data.'));
    fill(this.el, ...KPI_METRICS.map((m, i) => {
      const value = row.metrics[i] ?? null;
      const change = row.comparison?.change[i] ?? null;
      const tone = change === null || change === 0 ? '' : (change > 0) !== LOWER_IS_BETTER.has(m) ? 'good' : 'bad';
      return h('div', { class: 'kpi', 'data-metric': m },
        h('h2', {}, METRIC_LABELS[m]),
        h('p', { class: 'value' }, (FORMAT[m] ?? formatNumber)(value)),
        compare ? h('p', { class: `change ${tone}` }, formatChange(change)) : null);
    }));
    const empty = row.metrics[0] === 0 && row.metrics[1] === 0 && row.metrics[2] === 0;
    if (empty) this.el.append(h('p', { class: 'notice', role: 'status' }, 'No events in this range for this site yet.'));
  }
}
