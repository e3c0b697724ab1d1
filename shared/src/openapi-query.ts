import { LIMITS } from './event-schema';

/**
 * The query API's part of the OpenAPI document (POST /api/v2/query, GET /api/v2/realtime): its bounds, schemas
 * and paths. Built from openapi.ts's helpers (passed in, so that this file imports nothing back).
 */

/** POST /api/v2/query's bounds (validated in reporting/src/query/query-params.ts). */
export const QUERY_API_LIMITS = {
  maxDimensions: 3,
  maxRangeDays: 366,
  defaultLimit: 1000,
  maxLimit: 10_000,
  maxOffset: 1_000_000,
  maxFilters: 20,
  maxFilterValues: 100,
} as const;

interface Helpers {
  json: (schema: object, description: string, headers?: object) => object;
  ref: (name: string) => object;
  retryAfter: object;
  queryParam: (name: string, schema: object, description: string, required?: boolean) => object;
  reportingServers: object[];
  count: object;
  date: object;
}

export function queryApiSchemas({ ref, count, date }: Helpers) {
  return {
    QueryRequest: {
      type: 'object',
      additionalProperties: false,
      required: ['site_id', 'metrics', 'date_range'],
      properties: {
        site_id: { type: 'string', minLength: 1, maxLength: LIMITS.site_id },
        metrics: { type: 'array', minItems: 1, items: { enum: ['visitors', 'pageviews', 'events', 'visits', 'bounce_rate', 'visit_duration', 'views_per_visit'] } },
        date_range: {
          oneOf: [{ type: 'array', minItems: 2, maxItems: 2, items: date }, { enum: ['day', '7d', '30d', 'month', 'year', 'all'] }],
          description: `[from, to] local days of the site's zone, both included, at most ${QUERY_API_LIMITS.maxRangeDays} days; or a name ending today`,
        },
        dimensions: {
          type: 'array',
          maxItems: QUERY_API_LIMITS.maxDimensions,
          items: { type: 'string' },
          description: 'event:page, event:name, event:hostname, event:props:<key>, visit:source, visit:referrer, visit:utm_*, visit:browser, visit:os, visit:device, visit:country, visit:entry_page, visit:exit_page, time:hour|day|week|month',
        },
        filters: {
          type: 'array',
          maxItems: QUERY_API_LIMITS.maxFilters,
          items: { type: 'array', minItems: 3, maxItems: 3, description: '[is|is_not|contains|contains_not, event:* or visit:* dimension, [values]]' },
        },
        order_by: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2 }, description: '[[metric or dimension, "asc"|"desc"]]; default the first metric descending' },
        pagination: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: QUERY_API_LIMITS.maxLimit, default: QUERY_API_LIMITS.defaultLimit },
            offset: { type: 'integer', minimum: 0, maximum: QUERY_API_LIMITS.maxOffset, default: 0 },
          },
        },
        include: {
          type: 'object',
          additionalProperties: false,
          properties: { total_rows: { type: 'boolean' }, comparison: { const: 'previous_period' } },
        },
      },
    },
    QueryAnswer: {
      type: 'object',
      additionalProperties: false,
      required: ['results', 'meta', 'query'],
      properties: {
        results: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['dimensions', 'metrics'],
            properties: {
              dimensions: { type: 'array', items: { type: 'string' }, description: 'shown values: (not set) when missing, Direct / None for visit:source' },
              metrics: { type: 'array', items: { type: ['number', 'null'] }, description: 'in the order asked; a rate over no visits is null' },
              comparison: {
                type: 'object',
                additionalProperties: false,
                required: ['metrics', 'change'],
                properties: { metrics: { type: 'array', items: { type: ['number', 'null'] } }, change: { type: 'array', items: { type: ['number', 'null'] } } },
              },
            },
          },
        },
        meta: {
          type: 'object',
          additionalProperties: false,
          required: ['time_zone', 'data_as_of'],
          properties: {
            time_zone: { type: 'string' },
            data_as_of: { type: ['string', 'null'], format: 'date-time' },
            total_rows: count,
            comparison_date_range: { type: 'array', minItems: 2, maxItems: 2, items: date },
          },
        },
        query: { type: 'object', description: 'the query as resolved: dates filled in, default order and paging' },
      },
    },
    Realtime: {
      type: 'object',
      additionalProperties: false,
      required: ['visitors', 'data_as_of'],
      properties: { visitors: count, data_as_of: { type: ['string', 'null'], format: 'date-time' } },
    },
  };
}

export function queryApiPaths({ json, ref, retryAfter, queryParam, reportingServers }: Helpers) {
  return {
    '/api/v2/query': {
      servers: reportingServers,
      post: {
        summary: 'Metrics by dimensions under filters, exact, from per-day rollups where they hold the query and are current, else from the raw events and the visits',
        operationId: 'postQuery',
        description: 'Semantics in the README ("Query API"). Accept: text/csv answers the same rows as CSV under a header line. ' +
          "A site outside the key's scope answers like a site without data. Queries over more than one day share the process's range gate with /stats " +
          '(503 BUSY past REPORTING_MAX_CONCURRENT_RANGES); a client that disconnects has its query cancelled.',
        security: [{ bearerKey: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('QueryRequest') } } },
        responses: {
          '200': json(ref('QueryAnswer'), 'the rows of one page', {
            'Sitestream-Query-Plan': { description: 'where the answer was read: rollups (per-day breakdowns, exact), facts (per-day facts, exact) or raw (events and visits)', schema: { enum: ['rollups', 'facts', 'raw'] } },
          }),
          '400': json(ref('Error'), 'INVALID_QUERY (every problem named in details), UNSUPPORTED_COMBINATION, or INVALID_JSON'),
          '401': json(ref('Error'), 'UNAUTHORIZED', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
          '429': json(ref('Error'), 'RATE_LIMITED', retryAfter),
          '503': json(ref('Error'), 'DATABASE_UNAVAILABLE (retry), BUSY (too many queries over several days running; retry), or QUERY_TIMEOUT (ask for less)', retryAfter),
        },
      },
    },
    '/api/v2/realtime': {
      servers: reportingServers,
      get: {
        summary: 'Distinct visitors with an event in the last 5 minutes (by event timestamp)',
        operationId: 'getRealtime',
        security: [{ bearerKey: [] }],
        parameters: [queryParam('site_id', { type: 'string', minLength: 1, maxLength: LIMITS.site_id }, 'the site', true)],
        responses: {
          '200': json(ref('Realtime'), 'visitors now'),
          '400': json(ref('Error'), 'INVALID_QUERY'),
          '401': json(ref('Error'), 'UNAUTHORIZED', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
          '429': json(ref('Error'), 'RATE_LIMITED', retryAfter),
          '503': json(ref('Error'), 'DATABASE_UNAVAILABLE or QUERY_TIMEOUT'),
        },
      },
    },
  };
}
