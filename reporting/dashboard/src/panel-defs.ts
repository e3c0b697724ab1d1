import type { Filter } from './api';

/** The breakdown panels: each tab is one POST /api/v2/query by one dimension, top rows first. */
export interface TabDef {
  id: string;
  label: string;
  /** The dimension the rows are, or 'props' for the chosen event property key. */
  dimension: string | 'props';
  /** The first is the one rows are ordered and drawn by. */
  metrics: string[];
  /** Filters this tab always adds (the custom-events tab leaves page views out). */
  filters?: Filter[];
}
export interface PanelDef {
  id: string;
  title: string;
  tabs: TabDef[];
}

export const FIRST_ROWS = 10;
export const MORE_ROWS = 50;

export const PANELS: PanelDef[] = [
  { id: 'pages', title: 'Pages', tabs: [
    { id: 'pages', label: 'Top pages', dimension: 'event:page', metrics: ['visitors', 'pageviews'] },
    { id: 'entry', label: 'Entry pages', dimension: 'visit:entry_page', metrics: ['visitors', 'visits'] },
    { id: 'exit', label: 'Exit pages', dimension: 'visit:exit_page', metrics: ['visitors', 'visits'] },
  ] },
  { id: 'sources', title: 'Sources', tabs: [
    { id: 'sources', label: 'Sources', dimension: 'visit:source', metrics: ['visitors', 'visits'] },
    { id: 'referrers', label: 'Referrers', dimension: 'visit:referrer', metrics: ['visitors', 'visits'] },
    { id: 'utm_source', label: 'UTM source', dimension: 'visit:utm_source', metrics: ['visitors', 'visits'] },
    { id: 'utm_medium', label: 'UTM medium', dimension: 'visit:utm_medium', metrics: ['visitors', 'visits'] },
    { id: 'utm_campaign', label: 'UTM campaign', dimension: 'visit:utm_campaign', metrics: ['visitors', 'visits'] },
  ] },
  { id: 'countries', title: 'Countries', tabs: [
    { id: 'countries', label: 'Countries', dimension: 'visit:country', metrics: ['visitors', 'visits'] },
  ] },
  { id: 'devices', title: 'Devices', tabs: [
    { id: 'devices', label: 'Devices', dimension: 'visit:device', metrics: ['visitors', 'visits'] },
    { id: 'browsers', label: 'Browsers', dimension: 'visit:browser', metrics: ['visitors', 'visits'] },
    { id: 'os', label: 'Operating systems', dimension: 'visit:os', metrics: ['visitors', 'visits'] },
  ] },
  { id: 'events', title: 'Events', tabs: [
    { id: 'events', label: 'Custom events', dimension: 'event:name', metrics: ['visitors', 'events'], filters: [['is_not', 'event:name', ['page_view']]] },
    { id: 'props', label: 'Properties', dimension: 'props', metrics: ['visitors', 'events'] },
  ] },
];

export const METRIC_LABELS: Record<string, string> = {
  visitors: 'Visitors', visits: 'Visits', pageviews: 'Page views', events: 'Events',
  bounce_rate: 'Bounce rate', visit_duration: 'Visit duration', views_per_visit: 'Views per visit',
};

const DIMENSION_LABELS: Record<string, string> = {
  'event:page': 'Page', 'event:name': 'Event', 'event:hostname': 'Hostname',
  'visit:source': 'Source', 'visit:referrer': 'Referrer', 'visit:utm_source': 'UTM source', 'visit:utm_medium': 'UTM medium',
  'visit:utm_campaign': 'UTM campaign', 'visit:utm_term': 'UTM term', 'visit:utm_content': 'UTM content',
  'visit:browser': 'Browser', 'visit:os': 'OS', 'visit:device': 'Device', 'visit:country': 'Country',
  'visit:entry_page': 'Entry page', 'visit:exit_page': 'Exit page',
};
const OP_LABELS: Record<string, string> = { is: 'is', is_not: 'is not', contains: 'contains', contains_not: 'does not contain' };

export function dimensionLabel(dimension: string): string {
  if (dimension.startsWith('event:props:')) return `Property ${dimension.slice('event:props:'.length)}`;
  return DIMENSION_LABELS[dimension] ?? dimension;
}

/** "Source is google.com", as a chip reads. */
export function describeFilter([op, dimension, values]: Filter): string {
  return `${dimensionLabel(dimension)} ${OP_LABELS[op] ?? op} ${values.join(' or ')}`;
}
