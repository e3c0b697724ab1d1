import type { Filter } from './api';
import { fill, h } from './dom';
import { describeFilter } from './panel-defs';

/** The active filters, each a chip with its own remove button; empty when nothing filters the view. */
export class FilterChips {
  readonly el = h('ul', { class: 'chips', 'aria-label': 'Filters' });

  constructor(private readonly onRemove: (f: Filter) => void) {}

  update(filters: Filter[]): void {
    fill(this.el, ...filters.map((f) => {
      const text = describeFilter(f);
      return h('li', { class: 'chip' }, h('span', {}, text),
        h('button', { type: 'button', 'aria-label': `Remove filter: ${text}`, title: 'Remove filter', onclick: () => this.onRemove(f) }, '×'));
    }));
    this.el.hidden = filters.length === 0;
  }
}
