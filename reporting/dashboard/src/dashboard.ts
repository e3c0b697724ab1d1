import type { ApiClient, Filter, QueryAnswer, SiteList } from './api';
import { fill, h } from './dom';
import { FilterChips } from './filter-chips';
import { Header } from './header';
import { Kpis } from './kpis';
import { MainChart } from './main-chart';
import { Panel } from './panel';
import { PANELS } from './panel-defs';
import type { Refresh } from './refresh';
import { readState, sameFilter, writeState, type ViewState } from './view-state';

/**
 * The signed-in page. Its state is the URL: every change is a new history entry, and back/forward restore it.
 * Each state change aborts what the previous one still had in flight and loads every widget anew.
 */
export class Dashboard {
  private state: ViewState;
  private readonly header: Header;
  private readonly chips: FilterChips;
  private readonly kpis = new Kpis();
  private readonly chart: MainChart;
  private readonly panels: Panel[];
  private inFlight: AbortController | undefined;
  private readonly onPop = () => this.show(readState(location.search));

  constructor(private readonly root: HTMLElement, private readonly client: ApiClient, private readonly sites: SiteList, signOut: () => void) {
    client.concurrency = Math.max(1, sites.limits.concurrent_requests);
    this.state = this.withSite(readState(location.search));
    this.header = new Header(sites, { change: (patch) => this.navigate({ ...this.state, ...patch }), signOut });
    this.chips = new FilterChips((f) => this.navigate({ ...this.state, filters: this.state.filters.filter((x) => !sameFilter(x, f)) }));
    this.chart = new MainChart((metric) => {
      this.state = { ...this.state, metric };
      history.replaceState(null, '', writeState(this.state));
      this.chart.showMetric(metric);
    });
    this.panels = PANELS.map((def) => new Panel(def, (f) => writeState(this.withFilter(f)), (f) => this.navigate(this.withFilter(f))));
    window.addEventListener('popstate', this.onPop);
  }

  start(): void {
    if (this.sites.sites.length === 0 && !this.state.site) {
      fill(this.root, this.header.el, h('main', {}, h('p', { class: 'notice', role: 'status' }, 'This key may read no site yet: send events first, or use a key with sites.')));
      return;
    }
    fill(this.root, this.header.el,
      h('main', { class: 'content' }, this.chips.el, this.kpis.el, this.chart.el, h('div', { class: 'panels' }, ...this.panels.map((p) => p.el))));
    history.replaceState(null, '', writeState(this.state));
    this.load();
  }

  stop(): void {
    this.inFlight?.abort();
    this.header.stopRealtime();
    window.removeEventListener('popstate', this.onPop);
  }

  private withSite(s: ViewState): ViewState {
    return s.site ? s : { ...s, site: this.sites.sites[0]?.site_id ?? null };
  }

  private withFilter(f: Filter): ViewState {
    const filters = this.state.filters.some((x) => sameFilter(x, f)) ? this.state.filters : [...this.state.filters, f];
    return { ...this.state, filters };
  }

  private navigate(next: ViewState): void {
    history.pushState(null, '', writeState(next));
    this.show(next);
  }

  private show(next: ViewState): void {
    const siteChanged = next.site !== this.state.site;
    this.state = this.withSite(next);
    this.load(siteChanged);
  }

  private load(siteChanged = true): void {
    const site = this.state.site!;
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    this.header.update(this.state);
    this.chips.update(this.state.filters);
    let overview!: Promise<QueryAnswer>;
    const refresh: Refresh = { state: this.state, site, client: this.client, signal: abort.signal, get overview() { return overview; } };
    // Numbers first: the KPI query is queued before everything else.
    overview = this.kpis.load(refresh);
    overview.then((a) => this.header.dataAsOf(a), () => this.header.dataAsOf(undefined));
    void this.chart.load(refresh);
    for (const p of this.panels) p.load(refresh);
    if (siteChanged) this.header.startRealtime(this.client, site);
  }
}
