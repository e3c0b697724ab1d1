import { VISIT_ATTRIBUTES } from './visit-attributes';

/*
 * The dimensions the query API's stored breakdowns hold (query-rollups.ts: one per row; query-facts.ts: all of
 * them per row), the column of the day's events-with-their-visit behind each, and its shown value.
 */

export const NOT_SET = '(not set)';
export const DIRECT = 'Direct / None';
/** event:props:<key>: the rows hold one such dimension per key seen on the day; the facts name each event's set. */
export const PROPS_PREFIX = 'event:props:';

/** The visit:* dimensions the rows hold, and the visits column behind each. */
export const ROLLED_VISIT_DIMENSIONS: Record<string, string> = {
  ...Object.fromEntries(VISIT_ATTRIBUTES.filter((a) => a !== 'hostname').map((a) => [`visit:${a}`, a])),
  'visit:entry_page': 'entry_path',
  'visit:exit_page': 'exit_path',
};
/** The event:* dimensions with a column of their own (event:props:* are read from the property set), and the events column behind each. */
export const ROLLED_EVENT_DIMENSIONS: Record<string, string> = {
  'event:page': 'path',
  'event:name': 'event_type',
  'event:hostname': 'hostname',
};

/** The shown value of `dimension` over a row `alias` with the columns above: missing values are shown as strings. */
export function shownSql(dimension: string, alias: string): string {
  const column = ROLLED_VISIT_DIMENSIONS[dimension] ?? ROLLED_EVENT_DIMENSIONS[dimension];
  if (column === undefined) throw new Error(`not a rolled dimension: ${dimension}`);
  if (dimension === 'event:page' || dimension === 'event:name') return `${alias}.${column}::text`;
  return `coalesce(${alias}.${column}::text, '${dimension === 'visit:source' ? DIRECT : NOT_SET}')`;
}
