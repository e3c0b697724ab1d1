/**
 * A visit's attributes: those of its first event (by timestamp, ties by event_id). Listed once: the visits
 * table has one nullable column per name (migration 006), and the visit SQL (visits.ts) carries each one.
 */
export const VISIT_ATTRIBUTES = [
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

export type VisitAttribute = (typeof VISIT_ATTRIBUTES)[number];

/**
 * The attributes website_events stores and the writer's INSERT … RETURNING gives back (InsertedEvent).
 * THE ONE PLACE TO WIRE THEM: until the events carry their context (issue 12, migration 005) none does, and
 * visits get NULL. When it lands: list them here (all of VISIT_ATTRIBUTES) and add them to ROLLUP_RETURNING and
 * InsertedEvent (rollups.ts); the live merge and the rebuild both read this list.
 */
export const STORED_ATTRIBUTES: readonly VisitAttribute[] = [];
