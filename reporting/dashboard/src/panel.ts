import type { Filter, QueryAnswer } from './api';
import { append, fill, h, setBusy } from './dom';
import { formatNumber } from './format';
import { FIRST_ROWS, METRIC_LABELS, MORE_ROWS, type PanelDef, type TabDef } from './panel-defs';
import { errorNotice, type Refresh } from './refresh';
import { dateRangeOf } from './view-state';

const PROPS_PREFIX = 'event:props:';

/**
 * One breakdown panel: tabs, the top rows of the active tab, "More" for the next rows. A row is a link to the
 * same view with that row's value as a filter: clicking it filters the whole dashboard.
 */
export class Panel {
  readonly el: HTMLElement;
  private readonly tabs = h('div', { class: 'tabs', role: 'tablist' });
  private readonly body = h('div', { class: 'panel-body', role: 'tabpanel' });
  private readonly propPicker = h('select', { class: 'prop-key', 'aria-label': 'Event property' });
  private tab: TabDef;
  private refresh: Refresh | undefined;
  /** Bumped by every load: an answer for an older tab or state is dropped. */
  private seq = 0;
  private propKey: string | undefined;

  constructor(private readonly def: PanelDef, private readonly hrefFor: (f: Filter) => string, private readonly onFilter: (f: Filter) => void) {
    this.tab = def.tabs[0]!;
    this.el = h('section', { class: 'panel card', 'data-panel': def.id, 'aria-labelledby': `panel-${def.id}` });
    for (const t of def.tabs) {
      this.tabs.append(h('button', { type: 'button', role: 'tab', 'data-tab': t.id, 'aria-selected': String(t === this.tab), onclick: () => this.select(t) }, t.label));
    }
    this.propPicker.addEventListener('change', () => {
      this.propKey = this.propPicker.value;
      void this.loadRows(0);
    });
    fill(this.el, h('div', { class: 'card-head' }, h('h2', { id: `panel-${def.id}` }, def.title), def.tabs.length > 1 ? this.tabs : null), this.body);
  }

  load(r: Refresh): void {
    this.refresh = r;
    void this.loadRows(0);
  }

  private select(t: TabDef): void {
    this.tab = t;
    for (const b of this.tabs.querySelectorAll('button')) b.setAttribute('aria-selected', String(b.dataset.tab === t.id));
    void this.loadRows(0);
  }

  private async dimension(r: Refresh, seq: number): Promise<string | undefined> {
    if (this.tab.dimension !== 'props') return this.tab.dimension;
    const range = (await r.overview).query.date_range;
    const { keys } = await r.client.propertyKeys(r.site, range, r.signal);
    if (seq !== this.seq) return undefined;
    if (!this.propKey || !keys.includes(this.propKey)) this.propKey = keys[0];
    fill(this.propPicker, ...keys.map((k) => h('option', { value: k, selected: k === this.propKey }, k)));
    return this.propKey === undefined ? undefined : `${PROPS_PREFIX}${this.propKey}`;
  }

  private async loadRows(offset: number): Promise<void> {
    const r = this.refresh;
    if (!r) return;
    const seq = ++this.seq;
    const tab = this.tab;
    setBusy(this.el, true);
    if (offset === 0) fill(this.body, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const dimension = await this.dimension(r, seq);
      if (seq !== this.seq) return;
      if (dimension === undefined) return fill(this.body, this.propHead(), h('p', { class: 'muted empty' }, 'No event properties in this range.'));
      const answer = await r.client.query({
        site_id: r.site,
        metrics: tab.metrics,
        date_range: dateRangeOf(r.state),
        dimensions: [dimension],
        filters: [...r.state.filters, ...(tab.filters ?? [])],
        pagination: { limit: offset === 0 ? FIRST_ROWS : MORE_ROWS, offset },
        include: { total_rows: true },
      }, r.signal);
      if (seq !== this.seq) return;
      this.show(answer, dimension, offset);
    } catch (err) {
      if (seq !== this.seq) return;
      const notice = errorNotice(err, () => void this.loadRows(offset));
      if (notice) fill(this.body, notice);
    } finally {
      if (seq === this.seq) setBusy(this.el, false);
    }
  }

  private propHead(): HTMLElement | null {
    return this.tab.dimension === 'props' ? h('div', { class: 'prop-head' }, this.propPicker) : null;
  }

  private show(answer: QueryAnswer, dimension: string, offset: number): void {
    let list = this.body.querySelector('ol.rows');
    if (offset === 0 || !list) {
      if (answer.results.length === 0) return fill(this.body, this.propHead(), h('p', { class: 'muted empty' }, 'Nothing in this range.'));
      list = h('ol', { class: 'rows' });
      fill(this.body, this.propHead(),
        h('div', { class: 'row-head', 'aria-hidden': 'true' }, h('span', {}, ''), ...this.tab.metrics.map((m) => h('span', { class: 'num' }, METRIC_LABELS[m] ?? m))),
        list);
    }
    const max = Number(list.getAttribute('data-max')) || Math.max(1, ...answer.results.map((x) => x.metrics[0] ?? 0));
    list.setAttribute('data-max', String(max));
    for (const row of answer.results) {
      const value = row.dimensions[0]!;
      const filter: Filter = ['is', dimension, [value]];
      const bar = h('span', { class: 'bar', 'aria-hidden': 'true' });
      // CSSOM, not a style attribute: allowed under the page's CSP (style-src 'self').
      bar.style.width = `${Math.min(100, ((row.metrics[0] ?? 0) / max) * 100)}%`;
      const link = h('a', { class: 'row', href: this.hrefFor(filter), title: `Filter by ${value}` },
        bar, h('span', { class: 'label' }, value), ...row.metrics.map((v) => h('span', { class: 'num' }, formatNumber(v))));
      link.addEventListener('click', (e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        this.onFilter(filter);
      });
      append(list, h('li', {}, link));
    }
    this.body.querySelector('.more')?.remove();
    const shown = list.children.length;
    const total = answer.meta.total_rows ?? shown;
    if (total > shown) {
      this.body.append(h('button', { type: 'button', class: 'more link', onclick: () => void this.loadRows(shown) }, `More (${formatNumber(total - shown)} not shown)`));
    }
  }
}
