import { CONTEXT_COLUMNS as TEXT_COLUMNS } from '@sitestream/db';
import type { EventMessage } from '@sitestream/shared';

// The text context columns of analytics.website_events (migration 005), in insert order; then props, jsonb.

/** SQL pieces for the batch INSERT … SELECT … FROM unnest(…): column names, unnest parameters, select list. */
export const CONTEXT_SQL = {
  columns: [...TEXT_COLUMNS, 'props'].join(', '),
  unnestParams: [...TEXT_COLUMNS.map(() => '?::text[]'), '?::jsonb[]'].join(', '),
  aliases: [...TEXT_COLUMNS.map((c) => `c_${c}`), 'c_props'].join(', '),
} as const;

/**
 * One array per context column for a batch, NULL where a message has no value: messages produced before the
 * context existed (still on the topic during a rolling upgrade) store with every context column NULL.
 */
export function contextArrays(events: EventMessage[]): string[][] {
  const arrays = TEXT_COLUMNS.map((c) => events.map((e) => e[c] ?? null));
  arrays.push(events.map((e) => (e.props ? JSON.stringify(e.props) : null)));
  // node-postgres sends a null array element as SQL NULL; knex's binding types only admit string[].
  return arrays as string[][];
}
