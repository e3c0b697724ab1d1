import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { QueryAnswer } from './api';
import { fill, h, setBusy } from './dom';
import { bucketLabel, formatNumber } from './format';
import { errorNotice, type Refresh } from './refresh';
import { CHART_METRICS, dateRangeOf, isSingleDay, type ChartMetric } from './view-state';

const METRICS = CHART_METRICS.map(([m]) => m);
const DAY_MS = 86_400_000;

/** Every bucket of the range, so that a day or an hour without events is drawn as 0, not skipped. */
export function buckets(range: [string, string], hourly: boolean): string[] {
  const days: string[] = [];
  for (let t = Date.parse(range[0]); t <= Date.parse(range[1]); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  if (!hourly) return days;
  return days.flatMap((d) => Array.from({ length: 24 }, (_, hour) => `${d} ${String(hour).padStart(2, '0')}:00:00`));
}

interface Series {
  labels: string[];
  /** Per chart metric, one value per label. */
  values: Record<ChartMetric, number[]>;
}

function toSeries(answer: QueryAnswer, hourly: boolean): Series {
  const labels = buckets(answer.query.date_range, hourly);
  const at = new Map(answer.results.map((r) => [r.dimensions[0], r.metrics]));
  const values = Object.fromEntries(METRICS.map((m, i) => [m, labels.map((l) => at.get(l)?.[i] ?? 0)])) as Record<ChartMetric, number[]>;
  return { labels, values };
}

/** Visitors, page views or visits over time, the previous period as a second, dashed line; and the same as a table. */
export class MainChart {
  readonly el = h('section', { class: 'chart card', 'aria-label': 'Over time' });
  private readonly plotBox = h('div', { class: 'plot' });
  private readonly table = h('table', { id: 'chart-table' });
  private readonly status = h('div', { class: 'chart-status' });
  private readonly switcher = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Chart metric' });
  private plot: uPlot | undefined;
  private current: Series | undefined;
  private previous: Series | undefined;
  private metric: ChartMetric = 'visitors';

  constructor(private readonly onMetric: (m: ChartMetric) => void) {
    for (const [m, label] of CHART_METRICS) {
      this.switcher.append(h('button', { type: 'button', 'data-metric': m, 'aria-pressed': 'false', onclick: () => this.onMetric(m) }, label));
    }
    fill(this.el, h('div', { class: 'card-head' }, h('h2', {}, 'Over time'), this.switcher), this.status, this.plotBox,
      h('details', {}, h('summary', {}, 'Show as table'), this.table));
    // Redrawn in the next frame and only when the width changed: resizing inside the observer's callback loops.
    let width = 0;
    new ResizeObserver(() => requestAnimationFrame(() => {
      if (this.plot && this.plotBox.clientWidth !== width) this.plot.setSize(this.size());
      width = this.plotBox.clientWidth;
    })).observe(this.plotBox);
  }

  async load(r: Refresh): Promise<void> {
    this.metric = r.state.metric;
    setBusy(this.el, true);
    fill(this.status, this.current ? '' : h('p', { class: 'muted' }, 'Loading…'));
    const hourly = isSingleDay(r.state);
    const body = { site_id: r.site, metrics: METRICS, dimensions: [hourly ? 'time:hour' : 'time:day'], filters: r.state.filters, pagination: { limit: 10_000, offset: 0 } };
    try {
      const current = toSeries(await r.client.query({ ...body, date_range: dateRangeOf(r.state) }, r.signal), hourly);
      let previous: Series | undefined;
      if (r.state.compare) {
        const before = (await r.overview).meta.comparison_date_range;
        if (before) previous = toSeries(await r.client.query({ ...body, date_range: before }, r.signal), hourly);
      }
      this.current = current;
      this.previous = previous;
      fill(this.status);
      this.draw();
    } catch (err) {
      const notice = errorNotice(err, () => void this.load(r));
      if (notice) fill(this.status, notice);
    } finally {
      setBusy(this.el, false);
    }
  }

  /** Switching the metric redraws from the answers at hand: all three came in one query. */
  showMetric(m: ChartMetric): void {
    this.metric = m;
    this.draw();
  }

  private draw(): void {
    for (const b of this.switcher.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.metric === this.metric));
    const cur = this.current;
    if (!cur) return;
    const prev = this.previous;
    const name = CHART_METRICS.find(([m]) => m === this.metric)![1];
    const xs = cur.labels.map((_, i) => i);
    const data: uPlot.AlignedData = prev ? [xs, cur.values[this.metric], prev.values[this.metric]] : [xs, cur.values[this.metric]];
    this.plot?.destroy();
    this.plot = new uPlot({
      ...this.size(),
      scales: { x: { time: false } },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      axes: [
        { stroke: '#4a5368', grid: { show: false }, incrs: [1, 2, 3, 4, 6, 7, 12, 14, 28, 31, 61, 91, 183], values: (_u, splits) => splits.map((i) => (Number.isInteger(i) && cur.labels[i] ? bucketLabel(cur.labels[i]!) : '')) },
        { stroke: '#4a5368', grid: { stroke: '#e3e6ee' }, values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? formatNumber(v) : '')) },
      ],
      series: [
        {},
        { label: name, stroke: '#2754c5', width: 2, fill: 'rgba(39, 84, 197, 0.08)', points: { show: xs.length <= 31 } },
        ...(prev ? [{ label: `${name}, previous period`, stroke: '#6b7280', width: 1.5, dash: [6, 4], points: { show: false } }] : []),
      ],
    }, data, this.plotBox);
    this.plotBox.setAttribute('role', 'img');
    this.plotBox.setAttribute('aria-label', `${name} over ${cur.labels.length} ${cur.labels[0]!.length > 10 ? 'hours' : 'days'}; the table below lists every value`);
    fill(this.table,
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, cur.labels[0]!.length > 10 ? 'Hour' : 'Day'), h('th', { scope: 'col' }, name), prev ? h('th', { scope: 'col' }, 'Previous period') : null)),
      h('tbody', {}, ...cur.labels.map((l, i) => h('tr', {}, h('th', { scope: 'row' }, l.length > 10 ? l.slice(0, 16) : l),
        h('td', {}, formatNumber(cur.values[this.metric][i]!)), prev ? h('td', {}, formatNumber(prev.values[this.metric][i] ?? 0)) : null))));
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(240, this.plotBox.clientWidth), height: 240 };
  }
}
