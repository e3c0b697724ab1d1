/**
 * One error type for everything a service answers or refuses. `code` is stable and machine-readable;
 * `status` is the HTTP status it maps to; `retriable` tells callers (and clients, via Retry-After)
 * whether trying again can help. Messages never contain stack traces or secrets.
 */
export interface FieldError {
  /** JSON-pointer-ish location of the bad value, e.g. "timestamp" or "events/3/path". */
  field: string;
  message: string;
}

export interface AppErrorOptions {
  details?: FieldError[];
  retriable?: boolean;
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: FieldError[] | undefined;
  readonly retriable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, status: number, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.retriable = options.retriable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): { error: { code: string; message: string; details?: FieldError[] } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

/** The error catalog: every refusal a client can see, with its code and status. */
export const Errors = {
  invalidEvent: (details: FieldError[]) =>
    new AppError('INVALID_EVENT', 400, describe('invalid event', details), { details }),
  invalidQuery: (details: FieldError[]) =>
    new AppError('INVALID_QUERY', 400, describe('invalid query', details), { details }),
  // A well-formed query asking for something that has no meaning (a visit metric by an event's own value).
  unsupportedCombination: (details: FieldError[]) =>
    new AppError('UNSUPPORTED_COMBINATION', 400, describe('unsupported combination', details), { details }),
  invalidJson: (message: string) => new AppError('INVALID_JSON', 400, `body is not valid JSON: ${message}`),
  invalidEncoding: () => new AppError('INVALID_ENCODING', 400, 'body is not valid UTF-8'),
  emptyBody: () => new AppError('EMPTY_BODY', 400, 'request body is empty'),
  bodyTooLarge: (limit: number) =>
    new AppError('BODY_TOO_LARGE', 413, `request body exceeds the limit of ${limit} bytes`),
  unsupportedMediaType: (what: string) => new AppError('UNSUPPORTED_MEDIA_TYPE', 415, what),
  notFound: () => new AppError('NOT_FOUND', 404, 'no such route'),
  methodNotAllowed: () => new AppError('METHOD_NOT_ALLOWED', 405, 'method not allowed'),
  brokerUnavailable: (retryAfterSeconds: number, cause?: unknown) =>
    new AppError('BROKER_UNAVAILABLE', 503, 'the event could not be handed to Kafka in time; retry later', {
      retriable: true,
      retryAfterSeconds,
      cause,
    }),
  overloaded: (retryAfterSeconds: number) =>
    new AppError('OVERLOADED', 503, 'ingest buffer is full; retry later', { retriable: true, retryAfterSeconds }),
  shuttingDown: () =>
    new AppError('SHUTTING_DOWN', 503, 'service is shutting down; retry later', {
      retriable: true,
      retryAfterSeconds: 1,
    }),
  databaseUnavailable: (cause?: unknown) =>
    new AppError('DATABASE_UNAVAILABLE', 503, 'database unavailable; retry later', {
      retriable: true,
      retryAfterSeconds: 1,
      cause,
    }),
  // One body for a missing, malformed, unknown, revoked or expired key: the answer must not tell them apart.
  unauthorized: () => new AppError('UNAUTHORIZED', 401, 'a valid API key is required: Authorization: Bearer <key>'),
  // Also the answer for a site outside the key's scope, whether or not that site exists.
  siteNotFound: () => new AppError('SITE_NOT_FOUND', 404, 'no data for this site'),
  siteNotAllowed: () =>
    new AppError('SITE_NOT_ALLOWED', 403, 'site_id is not one this ingest accepts', { details: [{ field: 'site_id', message: 'is not an allowed site' }] }),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError('RATE_LIMITED', 429, 'too many requests; retry later', { retriable: true, retryAfterSeconds }),
  busy: (retryAfterSeconds: number) =>
    new AppError('BUSY', 503, 'too many long queries are running; retry shortly or ask for a shorter range', { retriable: true, retryAfterSeconds }),
  queryTimeout: (cause?: unknown) =>
    new AppError('QUERY_TIMEOUT', 503, 'the query took too long; ask for a shorter date range', { cause }),
  // The client went away before its body arrived: nobody reads the answer, but the log and metrics say why.
  // Reporting's static dashboard (reporting/dashboard) is built by `npm run build`; a checkout without it still serves the API.
  dashboardNotBuilt: () =>
    new AppError('DASHBOARD_NOT_BUILT', 503, 'the dashboard is not built: run `npm run build` (npm start and npm test build it)'),
  requestAborted: () => new AppError('REQUEST_ABORTED', 400, 'request aborted'),
  // Any other 4xx a library raised while reading the request (a body that says gzip and is not, …).
  badRequest: (status: number, message: string) => new AppError('BAD_REQUEST', status, message),
  internal: (cause?: unknown) => new AppError('INTERNAL', 500, 'internal error', { cause }),
} as const;

/** Bad configuration stops start-up; it is nobody's HTTP answer, so it is not an AppError. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function describe(prefix: string, details: FieldError[]): string {
  return `${prefix}: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`;
}
