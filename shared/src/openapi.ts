import { eventInputSchema, LIMITS } from './event-schema';
import { dashboardPaths, dashboardSchemas } from './openapi-dashboard';
import { queryApiPaths, queryApiSchemas } from './openapi-query';

export { QUERY_API_LIMITS } from './openapi-query';

/**
 * The public HTTP contract of ingest and reporting as one OpenAPI 3.1 document, served at /openapi.json.
 * Tests validate real responses against these schemas, so the document cannot drift from the services.
 */

/** Bounds of the /stats query, shared by the validator (reporting/src/stats-params.ts) and this document. */
export const STATS_QUERY_LIMITS = {
  maxRangeDays: 366,
  defaultLimit: 10,
  maxLimit: 1000,
  maxOffset: 100_000,
  maxEventTypes: 100,
} as const;


const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});
const retryAfter = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'string', pattern: '^[0-9]+$' } } };
const count = { type: 'integer', minimum: 0 };
const date = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'a calendar day, YYYY-MM-DD' };
const reportingServers = [{ url: 'http://localhost:8001', description: 'reporting' }];
const queryParam = (name: string, schema: object, description: string, required = false) => ({ name, in: 'query', required, schema, description });
const queryHelpers = { json, ref, retryAfter, queryParam, reportingServers, count, date };
const { $id: _eventInputId, ...eventInput } = eventInputSchema;

const errorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable, machine-readable (INVALID_QUERY, UNAUTHORIZED, …)' },
        message: { type: 'string' },
        details: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['field', 'message'],
            properties: { field: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
};

const statsFigures = {
  total_views: { ...count, description: 'page_view events' },
  unique_users: { ...count, description: 'distinct user_id over all events; over a range each user counts once' },
  top_paths: { type: 'array', items: ref('PathViews'), description: 'paths by page views, most first, ties by path in code point order' },
  total_events: { ...count, description: 'events of every type' },
  event_types: {
    type: 'array',
    maxItems: STATS_QUERY_LIMITS.maxEventTypes,
    items: ref('EventTypeCount'),
    description: `events per event_type, most first (at most ${STATS_QUERY_LIMITS.maxEventTypes} types)`,
  },
};
const statsTail = {
  time_zone: { type: 'string', description: "the site's IANA time zone, which defines its days (UTC unless configured)" },
  data_as_of: {
    type: ['string', 'null'],
    format: 'date-time',
    description:
      'freshness watermark: events that ingest received (answered 202) up to this instant are included. It is the ' +
      'oldest, over the Kafka partitions, of the newest received_at the consumer has committed; null before any event.',
  },
  visits: { ...count, description: "visits that start on the answer's days (a visit belongs to the local day of its first event)" },
  bounce_rate: { type: 'number', minimum: 0, maximum: 100, description: '100 × bounces ÷ visits, 2 decimals (0 without visits); a bounce is a visit of exactly one page_view and no other event' },
  visit_duration: { type: 'number', minimum: 0, description: 'mean visit duration in seconds (last event − first event), 2 decimals (0 without visits)' },
  views_per_visit: { type: 'number', minimum: 0, description: 'page views in those visits ÷ visits, 2 decimals (0 without visits)' },
};

const schemas = {
  EventInput: eventInput,
  Accepted: {
    type: 'object',
    additionalProperties: false,
    required: ['status', 'event_id'],
    properties: { status: { const: 'accepted' }, event_id: { type: 'string', format: 'uuid' } },
  },
  Ignored: {
    type: 'object',
    additionalProperties: false,
    required: ['status', 'reason'],
    description: 'a valid event from a bot (crawler, preview fetcher, monitoring probe, headless browser): answered 202, not stored',
    properties: { status: { const: 'ignored' }, reason: { const: 'bot' } },
  },
  EventBatch: {
    type: 'object',
    additionalProperties: false,
    required: ['events'],
    properties: { events: { type: 'array', minItems: 1, maxItems: 500, items: ref('EventInput'), description: 'at most INGEST_MAX_BATCH_EVENTS (500)' } },
  },
  BatchResult: {
    type: 'object',
    additionalProperties: false,
    required: ['accepted', 'rejected', 'results'],
    properties: {
      accepted: count,
      rejected: count,
      ignored: { ...count, description: 'events from bots: not stored, not an error' },
      unlisted: { ...count, description: 'invalid items past the first 10, not in results (every item missing from results is one of them)' },
      results: {
        type: 'array',
        description: 'every accepted item, every item refused by a limit or the broker (with its event_id), and the first 10 invalid items',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['index', 'status'],
          properties: {
            index: count,
            status: { enum: ['accepted', 'rejected', 'ignored'] },
            event_id: { type: 'string', format: 'uuid' },
            reason: { const: 'bot' },
            error: { $ref: '#/components/schemas/Error/properties/error' },
          },
        },
      },
    },
  },
  Error: errorSchema,
  PathViews: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'views'],
    properties: { path: { type: 'string', maxLength: LIMITS.path }, views: count },
  },
  EventTypeCount: {
    type: 'object',
    additionalProperties: false,
    required: ['event_type', 'events'],
    properties: { event_type: { type: 'string', maxLength: LIMITS.event_type }, events: count },
  },
  DayPoint: {
    type: 'object',
    additionalProperties: false,
    required: ['date', 'views', 'events', 'unique_users'],
    properties: { date, views: count, events: count, unique_users: count },
  },
  DayStats: {
    type: 'object',
    additionalProperties: false,
    required: ['site_id', 'date', 'total_views', 'unique_users', 'top_paths', 'total_events', 'event_types', 'time_zone', 'data_as_of', 'visits', 'bounce_rate', 'visit_duration', 'views_per_visit'],
    properties: { site_id: { type: 'string' }, date, ...statsFigures, ...statsTail },
  },
  RangeStats: {
    type: 'object',
    additionalProperties: false,
    required: ['site_id', 'from', 'to', 'total_views', 'unique_users', 'top_paths', 'total_events', 'event_types', 'timeseries', 'time_zone', 'data_as_of', 'visits', 'bounce_rate', 'visit_duration', 'views_per_visit'],
    properties: {
      site_id: { type: 'string' },
      from: date,
      to: date,
      ...statsFigures,
      timeseries: { type: 'array', maxItems: STATS_QUERY_LIMITS.maxRangeDays, items: ref('DayPoint'), description: 'one point per day of the range, empty days included' },
      ...statsTail,
    },
  },
  ...queryApiSchemas(queryHelpers),
  ...dashboardSchemas,
};

const ingestServers = [{ url: 'http://localhost:8000', description: 'ingest' }];
const ingestErrors = {
  '403': json(ref('Error'), 'SITE_NOT_ALLOWED: the site_id is not in INGEST_SITES'),
  '413': json(ref('Error'), 'body too large'),
  '415': json(ref('Error'), 'not JSON, or not UTF-8'),
  '429': json(ref('Error'), "RATE_LIMITED: the site's or the client's events per second, or the new sites per hour, are used up", retryAfter),
};


const paths = {
  '/event': {
    servers: ingestServers,
    post: {
      summary: 'Record one event',
      operationId: 'postEvent',
      requestBody: { required: true, content: { 'application/json': { schema: ref('EventInput') }, 'text/plain': { schema: ref('EventInput') } } },
      responses: {
        '202': json({ oneOf: [ref('Accepted'), ref('Ignored')] }, 'the Kafka broker acknowledged the event (acks=all), or it came from a bot and was ignored'),
        '400': json(ref('Error'), 'invalid event; every bad field is named in details'),
        ...ingestErrors,
        '503': json(ref('Error'), 'not handed to Kafka in time, or ingest is overloaded; retry with the same event_id', retryAfter),
      },
    },
  },
  '/events': {
    servers: ingestServers,
    post: {
      summary: 'Record a batch of events, with a result per event',
      operationId: 'postEvents',
      requestBody: { required: true, content: { 'application/json': { schema: ref('EventBatch') }, 'text/plain': { schema: ref('EventBatch') } } },
      responses: {
        '202': json(ref('BatchResult'), 'every event accepted (or ignored as a bot)'),
        '207': json(ref('BatchResult'), 'some events accepted'),
        '400': json({ oneOf: [ref('BatchResult'), ref('Error')] }, 'no event valid (per-item results), or the envelope is invalid'),
        ...ingestErrors,
        '503': json({ oneOf: [ref('BatchResult'), ref('Error')] }, 'no event could be handed to Kafka; retry', retryAfter),
      },
    },
  },
  '/stats': {
    servers: reportingServers,
    get: {
      summary: "A site's figures for one day (the seed's shape) or a range of days, read from rollups",
      operationId: 'getStats',
      description:
        "Days are calendar days in the site's time zone (UTC unless set with `npm run admin -- sites set-timezone`). " +
        'Give `date`, or `from` and `to` (both included, at most ' +
        `${STATS_QUERY_LIMITS.maxRangeDays} days). Counts are exact. An unknown site answers zeros. A site outside ` +
        "the key's scope answers 404 whether or not it exists.",
      security: [{ bearerKey: [] }],
      parameters: [
        queryParam('site_id', { type: 'string', minLength: 1, maxLength: LIMITS.site_id }, 'the site', true),
        queryParam('date', date, 'one day: the answer has the seed\'s fields first (site_id, date, total_views, unique_users, top_paths)'),
        queryParam('from', date, 'first day of a range (with to)'),
        queryParam('to', date, 'last day of a range (with from)'),
        queryParam('limit', { type: 'integer', minimum: 1, maximum: STATS_QUERY_LIMITS.maxLimit, default: STATS_QUERY_LIMITS.defaultLimit }, 'top_paths page size'),
        queryParam('offset', { type: 'integer', minimum: 0, maximum: STATS_QUERY_LIMITS.maxOffset, default: 0 }, 'top_paths paths to skip'),
      ],
      responses: {
        '200': json({ oneOf: [ref('DayStats'), ref('RangeStats')] }, 'DayStats for date, RangeStats for from/to'),
        '400': json(ref('Error'), 'INVALID_QUERY: a missing, repeated, malformed or unknown parameter, named in details'),
        '401': json(ref('Error'), 'UNAUTHORIZED: no key, or a malformed, unknown, revoked or expired one (one identical answer)', {
          'WWW-Authenticate': { schema: { type: 'string' } },
        }),
        '404': json(ref('Error'), "SITE_NOT_FOUND: the site is outside the key's scope"),
        '429': json(ref('Error'), "RATE_LIMITED: the key's requests per minute or in flight, or the client's failed key lookups, are used up", retryAfter),
        '503': json(ref('Error'), 'DATABASE_UNAVAILABLE (retry), BUSY (too many range queries running; retry), or QUERY_TIMEOUT (ask for a shorter range)'),
      },
    },
  },
  ...queryApiPaths(queryHelpers),
  ...dashboardPaths({ json, ref, retryAfter, queryParam, servers: reportingServers, siteIdMax: LIMITS.site_id }),
  '/openapi.json': {
    get: { summary: 'This document', operationId: 'getOpenApi', responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1') } },
  },
  '/healthz': { get: { summary: 'The process is alive', operationId: 'getHealth', responses: { '200': json({ type: 'object' }, 'alive') } } },
  '/readyz': {
    get: {
      summary: 'Every component can serve',
      operationId: 'getReadiness',
      responses: { '200': json({ type: 'object' }, 'ready'), '503': json({ type: 'object' }, 'a component is not ready') },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics: on the management port (ingest 9100, reporting 9101, consumer 8002), never the public one', operationId: 'getMetrics', responses: { '200': { description: 'Prometheus text format' } } } },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Sitestream',
    version: '0.1.0',
    description: 'Website analytics: events in through ingest (port 8000), figures out through reporting (port 8001).',
  },
  servers: [...ingestServers, ...reportingServers],
  paths,
  components: {
    schemas,
    securitySchemes: {
      bearerKey: {
        type: 'http',
        scheme: 'bearer',
        description: 'an API key (ss_live_…) from `npm run admin -- keys create`; scoped to sites, revocable, optionally expiring',
      },
    },
  },
} as const;
