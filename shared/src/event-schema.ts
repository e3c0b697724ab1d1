import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FieldError } from './errors';
import {
  addContextFormats,
  CONTEXT_FORMAT_MESSAGES,
  contextInputProperties,
  contextMessageProperties,
  type EventContext,
  type EventContextInput,
} from './event-context';
import { isSafeText, isVisibleId, toNfc } from './text-rules';
import { RFC3339_PATTERN, truncateToMicroseconds } from './time';

export { isSafeText } from './text-rules';

/** Column limits of analytics.website_events; the schema enforces the same, counted in code points as PostgreSQL counts. */
export const LIMITS = {
  site_id: 255,
  event_type: 50,
  path: 2048,
  user_id: 255,
  /** An RFC 3339 timestamp is at most ~35 characters; anything longer is not one. */
  timestamp: 40,
} as const;

/** What a client sends. `event_id` is optional; ingest assigns one when missing. The context fields are optional. */
export interface EventInput extends EventContextInput {
  site_id: string;
  event_type: string;
  path: string;
  user_id: string;
  timestamp: string;
  event_id?: string;
}

/** What travels on the Kafka topic: the event with its id, when ingest received it, and its derived context. */
export interface EventMessage extends EventContext {
  event_id: string;
  site_id: string;
  event_type: string;
  path: string;
  user_id: string;
  timestamp: string;
  received_at: string;
}

const RFC3339 = RFC3339_PATTERN;

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, format: 'safe-text' }) as const;
const id = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, format: 'visible-id' }) as const;

export const eventInputSchema = {
  $id: 'https://sitestream.dev/schemas/event-input.json',
  type: 'object',
  additionalProperties: false,
  required: ['site_id', 'event_type', 'path', 'user_id', 'timestamp'],
  properties: {
    site_id: id(LIMITS.site_id),
    event_type: id(LIMITS.event_type),
    path: text(LIMITS.path),
    user_id: id(LIMITS.user_id),
    timestamp: { type: 'string', maxLength: LIMITS.timestamp, pattern: RFC3339, format: 'date-time' },
    event_id: { type: 'string', maxLength: 36, format: 'uuid' },
    ...contextInputProperties,
  },
} as const;

export const eventMessageSchema = {
  $id: 'https://sitestream.dev/schemas/event-message.json',
  type: 'object',
  additionalProperties: false,
  required: ['event_id', 'site_id', 'event_type', 'path', 'user_id', 'timestamp', 'received_at'],
  properties: {
    site_id: eventInputSchema.properties.site_id,
    event_type: eventInputSchema.properties.event_type,
    path: eventInputSchema.properties.path,
    user_id: eventInputSchema.properties.user_id,
    timestamp: eventInputSchema.properties.timestamp,
    event_id: eventInputSchema.properties.event_id,
    // Optional: messages produced before issue 12 have none of these (rolling upgrade).
    ...contextMessageProperties,
    received_at: { type: 'string', maxLength: LIMITS.timestamp, pattern: RFC3339, format: 'date-time' },
  },
} as const;

/**
 * Compiled validators. Deliberately: no coerceTypes ("42" is not a number), no useDefaults (no mutation),
 * no allErrors (stop at the first problem: cheaper and not a DoS lever), strict mode on.
 */
function buildAjv(options: { allErrors?: boolean } = {}): Ajv {
  // allowUnionTypes: a prop value is a string, a number or a boolean.
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: options.allErrors ?? false, coerceTypes: false, useDefaults: false });
  addFormats(ajv, { mode: 'full', formats: ['date-time', 'uuid'] });
  addEventFormats(ajv);
  return ajv;
}

/** The custom formats of the event schemas, for every Ajv that compiles them (the OpenAPI test too). */
export function addEventFormats(ajv: Ajv): void {
  ajv.addFormat('safe-text', { type: 'string', validate: isSafeText });
  ajv.addFormat('visible-id', { type: 'string', validate: isVisibleId });
  addContextFormats(ajv);
}

const ajv = buildAjv();
const validateInput = ajv.compile<EventInput>(eventInputSchema);
const validateMessage = ajv.compile<EventMessage>(eventMessageSchema);
// Only run after the fast validator said no, to name every bad field at once. The error list is capped so
// a body with thousands of unknown keys cannot make the answer large.
const explainInput = buildAjv({ allErrors: true }).compile<EventInput>(eventInputSchema);
const MAX_REPORTED_ERRORS = 20;

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export interface TimestampPolicy {
  /** Latest acceptable instant, in ms since the epoch (now + allowed clock skew). */
  maxFutureMs: number;
}

/** Validates one event as a client sent it. `prefix` locates it inside a batch ("events/3"). */
export function validateEventInput(input: unknown, policy: TimestampPolicy, prefix = ''): Validation<EventInput> {
  const data = normalised(input);
  if (!validateInput(data)) {
    explainInput(data);
    return { ok: false, errors: toFieldErrors(explainInput.errors ?? validateInput.errors, prefix).slice(0, MAX_REPORTED_ERRORS) };
  }
  const problem = checkInstant(data.timestamp, policy);
  if (problem) return { ok: false, errors: [{ field: join(prefix, 'timestamp'), message: problem }] };
  return { ok: true, value: { ...data, timestamp: truncateToMicroseconds(data.timestamp) } };
}

/** Strings in NFC before any rule is checked (lengths are of what will be stored); the input is not mutated. */
function normalised(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const field of ['site_id', 'event_type', 'path', 'user_id'] as const) {
    if (Object.hasOwn(copy, field)) copy[field] = toNfc(copy[field]);
  }
  return copy;
}

/** Validates a record read from Kafka (the consumer trusts nothing it did not check itself). */
export function validateEventMessage(input: unknown): Validation<EventMessage> {
  const data = normalised(input);
  if (!validateMessage(data)) return { ok: false, errors: toFieldErrors(validateMessage.errors, '') };
  for (const field of ['timestamp', 'received_at'] as const) {
    if (!Number.isFinite(Date.parse(data[field]))) {
      return { ok: false, errors: [{ field, message: 'is not a representable instant' }] };
    }
  }
  return { ok: true, value: { ...data, timestamp: truncateToMicroseconds(data.timestamp) } };
}

function checkInstant(ts: string, policy: TimestampPolicy): string | undefined {
  const ms = Date.parse(ts);
  // ajv-formats accepts leap seconds (23:59:60) but Date cannot represent them.
  if (!Number.isFinite(ms)) return 'is not a representable instant (leap seconds are not accepted)';
  if (ms > policy.maxFutureMs) return 'is too far in the future';
  if (ms < Date.UTC(1970, 0, 1)) return 'is before 1970-01-01';
  return undefined;
}

function join(prefix: string, field: string): string {
  return prefix && field ? `${prefix}/${field}` : prefix || field;
}

const MESSAGES: Record<string, (e: ErrorObject) => string> = {
  required: () => 'is required',
  additionalProperties: () => 'is not an allowed field',
  type: (e) => {
    const types = [e.params.type].flat().join(' or ');
    return `must be ${/^[aeiou]/.test(types) ? 'an' : 'a'} ${types}`;
  },
  maxProperties: (e) => `must have at most ${String(e.params.limit)} keys`,
  not: () => 'is a reserved name',
  minLength: () => 'must not be empty',
  maxLength: (e) => `must be at most ${String(e.params.limit)} characters`,
  pattern: (e) =>
    e.instancePath === '/country' ? 'must be an ISO 3166-1 alpha-2 code' : 'must be an RFC 3339 date-time with a time zone offset, e.g. 2025-11-16T10:00:00Z',
  format: (e) => {
    switch (e.params.format) {
      case 'date-time':
        return 'must be an RFC 3339 date-time with a time zone offset, e.g. 2025-11-16T10:00:00Z';
      case 'uuid':
        return 'must be a UUID';
      case 'http-url':
      case 'dns-name':
      case 'ip':
        return CONTEXT_FORMAT_MESSAGES[String(e.params.format)]!;
      case 'visible-id':
        return 'must not be blank nor contain control, bidi-control or zero-width characters or unpaired surrogates';
      default:
        return 'must not contain control characters or unpaired surrogates';
    }
  },
};

/** One entry per field (the first problem found), so a timestamp failing both pattern and format is named once. */
function toFieldErrors(errors: ErrorObject[] | null | undefined, prefix: string): FieldError[] {
  const seen = new Set<string>();
  return (errors ?? []).map((e) => {
    let field = e.instancePath.replace(/^\//, '');
    if (e.keyword === 'required') field = join(field, String(e.params.missingProperty));
    // The offending key comes from the client: cap its length before echoing it.
    if (e.keyword === 'additionalProperties') field = join(field, String(e.params.additionalProperty).slice(0, 64));
    // A bad key of props: ajv reports it on props itself, with the key beside.
    const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName ?? (e.params.propertyName as string | undefined);
    if (propertyName !== undefined) field = join(field, propertyName.slice(0, 64) || '""');
    const describe = MESSAGES[e.keyword];
    const message = field === '' && e.keyword === 'type' ? 'must be a JSON object' : describe ? describe(e) : (e.message ?? 'is invalid');
    return { field: join(prefix, field) || '(body)', message: propertyName !== undefined ? `key ${message}` : message };
  }).filter((d) => !seen.has(d.field) && seen.add(d.field));
}
