/**
 * The context an event carries (text columns of analytics.website_events, migration 005; props aside), and a
 * visit's attributes: those of its first event (by timestamp, ties by event_id). Listed once: the visits table has
 * one nullable column per name (migration 006), the visit SQL (visits.ts) carries each one, and the writer
 * inserts them (consumer/src/context-columns.ts).
 */
export const CONTEXT_COLUMNS = [
  'hostname',
  'referrer',
  'source',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'browser',
  'os',
  'device',
  'country',
] as const;

/** A visit inherits every context column of its first event. */
export const VISIT_ATTRIBUTES = CONTEXT_COLUMNS;

export type VisitAttribute = (typeof VISIT_ATTRIBUTES)[number];

/** The attributes website_events stores and the writer's INSERT … RETURNING gives back (InsertedEvent): all. */
export const STORED_ATTRIBUTES: readonly VisitAttribute[] = VISIT_ATTRIBUTES;
