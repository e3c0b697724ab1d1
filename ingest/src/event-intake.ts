import { Counter, type Registry } from 'prom-client';
import {
  AppError,
  Errors,
  toAppError,
  validateEventInput,
  type Config,
  type EventContext,
  type EventInput,
  type EventMessage,
  type FieldError,
} from '@sitestream/shared';
import type { Enricher, RequestFacts } from './enrich/enricher';
import { EventIds } from './event-ids';
import type { EventPublisher, OutgoingMessage } from './event-publisher';
import { IngestLimits } from './rate-limits';

export interface EventIntakeDeps {
  config: Config;
  publisher: EventPublisher;
  enricher: Enricher;
  registry: Registry;
  now?: () => number;
}

/** An answer to send: status, JSON body and, for a retriable refusal, Retry-After. */
export interface Answer {
  status: number;
  body: unknown;
  retryAfterSeconds?: number;
}

/** Invalid items of a batch whose errors are listed; the rest are counted (`unlisted`), so an answer stays small. */
const MAX_LISTED_INVALID = 10;

type ItemResult =
  | { index: number; status: 'accepted'; event_id: string }
  | { index: number; status: 'ignored'; reason: 'bot' }
  | { index: number; status: 'rejected'; event_id?: string; error: { code: string; message: string; details?: FieldError[] } };

/**
 * What POST /event and POST /events do with a parsed body, whichever HTTP layer read it: validate, enrich, admit,
 * publish, and the answer. An event is answered 202 only after the broker acknowledged it.
 */
export class EventIntake {
  private readonly now: () => number;
  private readonly limits: IngestLimits;
  private readonly ids: EventIds;
  private readonly accepted: Counter;
  private readonly rejected: Counter<'reason'>;
  private readonly ignored: Counter<'reason'>;
  private readonly refusedRequests: Counter<'route' | 'status' | 'code'>;

  constructor(private readonly deps: EventIntakeDeps) {
    this.now = deps.now ?? Date.now;
    this.limits = new IngestLimits(deps.config);
    this.ids = new EventIds();
    this.accepted = new Counter({
      name: 'sitestream_ingest_events_accepted_total',
      help: 'Events acknowledged by the broker and answered 202',
      registers: [deps.registry],
    });
    this.rejected = new Counter({
      name: 'sitestream_ingest_events_rejected_total',
      help: 'Events refused, by reason',
      labelNames: ['reason'] as const,
      registers: [deps.registry],
    });
    this.ignored = new Counter({
      name: 'sitestream_ingest_events_ignored_total',
      help: 'Valid events answered 202 but not stored, by reason (bot: a crawler, preview fetcher, probe or headless browser)',
      labelNames: ['reason'] as const,
      registers: [deps.registry],
    });
    // Codes come from the error catalog, routes from this file: a bounded label set. 503s by code are the
    // overload answers (OVERLOADED, BROKER_UNAVAILABLE, SHUTTING_DOWN).
    this.refusedRequests = new Counter({
      name: 'sitestream_ingest_requests_refused_total',
      help: 'Requests answered with an error status, by route, status and error code',
      labelNames: ['route', 'status', 'code'] as const,
      registers: [deps.registry],
    });
  }

  /** Counts a request answered with an error (by route, status, code) and returns the error to answer with. */
  refused(route: '/event' | '/events', err: unknown): AppError {
    const appError = toAppError(err);
    this.refusedRequests.inc({ route, status: String(appError.status), code: appError.code });
    return appError;
  }

  /** POST /event: the answer, or throws the AppError to answer with. */
  async single(body: unknown, facts: RequestFacts): Promise<Answer> {
    const result = validateEventInput(body, this.policy());
    if (!result.ok) {
      this.rejected.inc({ reason: 'invalid' });
      throw Errors.invalidEvent(result.errors);
    }
    const enriched = this.deps.enricher.enrich(result.value, facts);
    if (enriched.bot) {
      this.ignored.inc({ reason: 'bot' });
      return { status: 202, body: { status: 'ignored', reason: 'bot' } };
    }
    const limited = this.limits.admit(result.value.site_id, facts.ip ?? '');
    if (limited) {
      this.rejected.inc({ reason: 'limited' });
      throw limited;
    }
    const { message, eventId } = this.toMessage(result.value, enriched.context, new Date(this.now()).toISOString());
    let failures;
    try {
      failures = await this.deps.publisher.publish([message]);
    } catch (err) {
      this.rejected.inc({ reason: reasonOf(err) });
      throw err;
    }
    if (failures?.[0]) {
      this.rejected.inc({ reason: reasonOf(failures[0]) });
      throw failures[0];
    }
    this.accepted.inc();
    return { status: 202, body: { status: 'accepted', event_id: eventId } };
  }

  /** POST /events: per-item results; throws the AppError to answer with when the body is not a batch at all. */
  async batch(body: unknown, facts: RequestFacts): Promise<Answer> {
    const { config } = this.deps;
    const events = (body as { events?: unknown } | null)?.events;
    const extra = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => k !== 'events') : [];
    if (!Array.isArray(events) || extra.length > 0) {
      throw Errors.invalidEvent([
        extra.length > 0 ? { field: extra[0]!.slice(0, 64), message: 'is not an allowed field' } : { field: 'events', message: 'must be an array of events' },
      ]);
    }
    if (events.length === 0 || events.length > config.INGEST_MAX_BATCH_EVENTS) {
      throw Errors.invalidEvent([{ field: 'events', message: `must hold 1 to ${config.INGEST_MAX_BATCH_EVENTS} events` }]);
    }
    const receivedAt = new Date(this.now()).toISOString();
    const results: ItemResult[] = new Array(events.length);
    const valid: { index: number; message: OutgoingMessage; eventId: string }[] = [];
    const p = this.policy();
    let bots = 0;
    let invalid = 0;
    let limitFailure: AppError | undefined;
    events.forEach((event, index) => {
      const v = validateEventInput(event, p, `events/${index}`);
      if (!v.ok) {
        if (++invalid <= MAX_LISTED_INVALID) results[index] = { index, status: 'rejected', error: Errors.invalidEvent(v.errors).toJSON().error };
        return;
      }
      const enriched = this.deps.enricher.enrich(v.value, facts);
      if (enriched.bot) {
        bots++;
        results[index] = { index, status: 'ignored', reason: 'bot' };
        return;
      }
      const limited = this.limits.admit(v.value.site_id, facts.ip ?? '');
      if (limited) {
        limitFailure = limited;
        results[index] = { index, status: 'rejected', error: limited.toJSON().error };
      } else valid.push({ index, ...this.toMessage(v.value, enriched.context, receivedAt) });
    });
    this.rejected.inc({ reason: 'invalid' }, invalid);
    this.rejected.inc({ reason: 'limited' }, events.length - invalid - bots - valid.length);
    this.ignored.inc({ reason: 'bot' }, bots);

    // One promise for the whole request; a failure can still hit some items only (split over produce requests).
    const failures = valid.length > 0 ? await this.deps.publisher.publish(valid.map((v) => v.message)) : undefined;
    let acceptedCount = 0;
    let failure: AppError | undefined;
    valid.forEach((v, i) => {
      const itemFailure = failures?.[i];
      if (itemFailure === undefined) {
        acceptedCount++;
        results[v.index] = { index: v.index, status: 'accepted', event_id: v.eventId };
      } else {
        failure = itemFailure;
        this.rejected.inc({ reason: reasonOf(failure) });
        // Its fate is unknown (the broker may have it): the id lets the client retry exactly once.
        results[v.index] = { index: v.index, status: 'rejected', event_id: v.eventId, error: failure.toJSON().error };
      }
    });
    this.accepted.inc(acceptedCount);
    const rejectedCount = events.length - acceptedCount - bots;
    // 202: none rejected (accepted or ignored as bots). 207: some taken. Otherwise why none was: 503 (retry),
    // 429/403 (limits) or 400.
    failure ??= limitFailure;
    const taken = acceptedCount + bots;
    const status = rejectedCount === 0 ? 202 : taken > 0 ? 207 : failure ? failure.status : 400;
    if (taken === 0) this.refusedRequests.inc({ route: '/events', status: String(status), code: failure ? failure.code : 'INVALID_EVENT' });
    const unlisted = Math.max(0, invalid - MAX_LISTED_INVALID);
    return {
      status,
      retryAfterSeconds: failure?.retryAfterSeconds,
      body: { accepted: acceptedCount, rejected: rejectedCount, ignored: bots, ...(unlisted > 0 ? { unlisted } : {}), results: results.filter(Boolean) },
    };
  }

  private policy() {
    return { maxFutureMs: this.now() + this.deps.config.INGEST_MAX_FUTURE_SKEW_S * 1000 };
  }

  /**
   * Built field by field: the input's user_agent and ip never reach the message. Serialised once, straight to the
   * bytes kafkajs sends. Ids ingest assigns are UUIDv7 (time-ordered, monotonic within this process), so the
   * (site_id, event_id) unique index is written near its right edge instead of at random pages; a client's own
   * event_id is kept as given (./event-ids.ts).
   */
  private toMessage(event: EventInput, context: EventContext, receivedAt: string): { message: OutgoingMessage; eventId: string } {
    const body: EventMessage = {
      event_id: event.event_id ?? this.ids.next(),
      site_id: event.site_id,
      event_type: event.event_type,
      path: event.path,
      user_id: event.user_id,
      timestamp: event.timestamp,
      received_at: receivedAt,
      ...context,
    };
    return { message: { key: Buffer.from(body.site_id), value: Buffer.from(JSON.stringify(body)) }, eventId: body.event_id };
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof AppError) {
    if (err.code === 'OVERLOADED') return 'overloaded';
    if (err.code === 'SHUTTING_DOWN') return 'shutting_down';
    if (err.code === 'BROKER_UNAVAILABLE') return 'broker';
  }
  return 'other';
}
