import { isAbort, type ApiClient, type QueryAnswer, type SiteList } from './api';
import { fill, h } from './dom';
import { formatInstant, formatNumber } from './format';
import { RANGES, type RangeName, type ViewState } from './view-state';

const REALTIME_EVERY_MS = 30_000;

export interface HeaderActions {
  change(patch: Partial<ViewState>): void;
  signOut(): void;
}

/** Site picker, date range, comparison, realtime visitors and how fresh the data is. */
export class Header {
  readonly el = h('header', { class: 'top' });
  private readonly site = h('select', { id: 'site', 'aria-label': 'Site' });
  private readonly ranges = h('div', { class: 'tabs ranges', role: 'group', 'aria-label': 'Date range' });
  private readonly from = h('input', { type: 'date', id: 'from', 'aria-label': 'From' });
  private readonly to = h('input', { type: 'date', id: 'to', 'aria-label': 'To' });
  private readonly custom = h('form', { class: 'custom-range', hidden: true });
  private readonly customError = h('span', { class: 'error', role: 'alert' });
  private readonly compare = h('input', { type: 'checkbox', id: 'compare' });
  private readonly realtime = h('span', { class: 'realtime', id: 'realtime', 'aria-live': 'polite' });
  private readonly asOf = h('span', { class: 'as-of muted', id: 'data-as-of' });
  private timer: ReturnType<typeof setTimeout> | undefined;
  private realtimeAbort: AbortController | undefined;

  constructor(sites: SiteList, private readonly actions: HeaderActions) {
    for (const s of sites.sites) this.site.append(h('option', { value: s.site_id }, s.site_id));
    this.site.addEventListener('change', () => actions.change({ site: this.site.value }));
    for (const [range, label] of RANGES) {
      this.ranges.append(h('button', { type: 'button', 'data-range': range, 'aria-pressed': 'false', onclick: () => this.pick(range) }, label));
    }
    fill(this.custom, this.from, h('span', { 'aria-hidden': 'true' }, '–'), this.to, h('button', { type: 'submit' }, 'Apply'), this.customError);
    this.custom.addEventListener('submit', (e) => {
      e.preventDefault();
      const [from, to] = [this.from.value, this.to.value];
      if (!from || !to || to < from) return void (this.customError.textContent = 'Pick a start day and an end day on or after it.');
      this.customError.textContent = '';
      actions.change({ range: 'custom', from, to });
    });
    this.compare.addEventListener('change', () => actions.change({ compare: this.compare.checked }));
    fill(this.el,
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), h('strong', {}, 'Sitestream')),
      h('label', { class: 'site-picker' }, h('span', { class: 'visually-hidden' }, 'Site'), this.site),
      this.ranges,
      this.custom,
      h('label', { class: 'compare' }, this.compare, ' Compare with previous period'),
      this.realtime,
      this.asOf,
      h('button', { type: 'button', class: 'link sign-out', onclick: () => actions.signOut() }, 'Sign out'),
    );
  }

  private pick(range: RangeName): void {
    if (range !== 'custom') return this.actions.change({ range, from: undefined, to: undefined });
    this.custom.hidden = false;
    this.from.focus();
  }

  update(state: ViewState): void {
    this.site.value = state.site ?? '';
    for (const b of this.ranges.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
    this.custom.hidden = state.range !== 'custom';
    if (state.from) this.from.value = state.from;
    if (state.to) this.to.value = state.to;
    this.compare.checked = state.compare;
  }

  dataAsOf(answer: QueryAnswer | undefined): void {
    const at = answer?.meta.data_as_of;
    this.asOf.textContent = !answer ? '' : at ? `data up to ${formatInstant(at, answer.meta.time_zone)}` : 'no data received yet';
  }

  /** Polls GET /api/v2/realtime for this site until stopped (or another site is picked). */
  startRealtime(client: ApiClient, siteId: string): void {
    this.stopRealtime();
    const abort = new AbortController();
    this.realtimeAbort = abort;
    const tick = async () => {
      try {
        const { visitors } = await client.realtime(siteId, abort.signal);
        this.realtime.textContent = `${formatNumber(visitors)} ${visitors === 1 ? 'visitor' : 'visitors'} in the last 5 minutes`;
        this.realtime.classList.remove('error');
      } catch (err) {
        if (isAbort(err)) return;
        this.realtime.textContent = `realtime unavailable: ${err instanceof Error ? err.message : String(err)}`;
        this.realtime.classList.add('error');
      }
      if (!abort.signal.aborted) this.timer = setTimeout(() => void tick(), REALTIME_EVERY_MS);
    };
    void tick();
  }

  stopRealtime(): void {
    this.realtimeAbort?.abort();
    clearTimeout(this.timer);
  }
}
