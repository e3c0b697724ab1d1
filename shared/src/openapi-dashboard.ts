/**
 * The part of the OpenAPI document that the dashboard added: the page itself and the two lookups it needs
 * beside the query API. Built from openapi.ts's helpers (passed in, so that this file imports nothing back).
 */
interface Helpers {
  json: (schema: object, description: string, headers?: object) => object;
  ref: (name: string) => object;
  retryAfter: object;
  queryParam: (name: string, schema: object, description: string, required?: boolean) => object;
  servers: object[];
  siteIdMax: number;
}

export const dashboardSchemas = {
  Sites: {
    type: 'object',
    additionalProperties: false,
    required: ['sites', 'total', 'limits'],
    properties: {
      sites: {
        type: 'array',
        description: 'the sites the key may read, in code-point order, at most 1000: a scoped key\'s own sites (with or without data), a deployment-wide key\'s every known site',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['site_id', 'time_zone'],
          properties: { site_id: { type: 'string', minLength: 1 }, time_zone: { type: 'string', description: 'IANA zone of the site\'s local days' } },
        },
      },
      total: { type: 'integer', minimum: 0, description: 'how many sites the key may read (more than listed past 1000)' },
      limits: {
        type: 'object',
        additionalProperties: false,
        required: ['concurrent_requests'],
        properties: { concurrent_requests: { type: 'integer', minimum: 1, description: 'requests of this key in flight at once before 429 (REPORTING_KEY_MAX_CONCURRENT)' } },
      },
    },
  },
  PropertyKeys: {
    type: 'object',
    additionalProperties: false,
    required: ['keys'],
    properties: { keys: { type: 'array', maxItems: 100, items: { type: 'string' }, description: 'event property keys seen in the range, code-point order, at most 100' } },
  },
};

export function dashboardPaths(h: Helpers) {
  const day = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' };
  const guarded = {
    '400': h.json(h.ref('Error'), 'INVALID_QUERY naming the parameter'),
    '401': h.json(h.ref('Error'), 'UNAUTHORIZED', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
    '429': h.json(h.ref('Error'), 'RATE_LIMITED', h.retryAfter),
    '503': h.json(h.ref('Error'), 'DATABASE_UNAVAILABLE or QUERY_TIMEOUT'),
  };
  return {
    '/': {
      servers: h.servers,
      get: {
        summary: 'The analysts\' dashboard (HTML; its assets under /assets/<build>/), served with a strict Content-Security-Policy',
        operationId: 'getDashboard',
        responses: {
          '200': { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
          '503': h.json(h.ref('Error'), 'DASHBOARD_NOT_BUILT: this checkout has not run `npm run build`'),
        },
      },
    },
    '/api/v2/sites': {
      servers: h.servers,
      get: {
        summary: 'The sites this key may read (the dashboard\'s site picker)',
        operationId: 'getSites',
        security: [{ bearerKey: [] }],
        responses: { '200': h.json(h.ref('Sites'), 'the sites'), ...guarded },
      },
    },
    '/api/v2/props': {
      servers: h.servers,
      get: {
        summary: 'Event property keys seen from one local day to another (to break events down by event:props:<key>); a site outside the key\'s scope has none',
        operationId: 'getPropertyKeys',
        security: [{ bearerKey: [] }],
        parameters: [
          h.queryParam('site_id', { type: 'string', minLength: 1, maxLength: h.siteIdMax }, 'the site', true),
          h.queryParam('from', day, 'first local day, YYYY-MM-DD', true),
          h.queryParam('to', day, 'last local day (included), at most 366 days after from', true),
        ],
        responses: { '200': h.json(h.ref('PropertyKeys'), 'the keys'), ...guarded },
      },
    },
  };
}
