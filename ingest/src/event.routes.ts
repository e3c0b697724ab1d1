import cors from 'cors';
import { Router, type ErrorRequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
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
import type { Request } from 'express';
import { jsonBody } from './body';
import type { Enricher, RequestFacts } from './enrich/enricher';
import { IngestLimits } from './rate-limits';
import { BodyBudget } from './read-body';
import type { EventPublisher, OutgoingMessage } from './event-publisher';

export interface EventRoutesDeps {
  config: Config;
  publisher: EventPublisher;
  enricher: Enricher;
  registry: Registry;
  now?: () => number;
}

/** Invalid items of a batch whose errors are listed; the rest are counted (`unlisted`), so an answer stays small. */
const MAX_LISTED_INVALID = 10;

type ItemResult =
  | { index: number; status: 'accepted'; event_id: string }
  | { index: number; status: 'ignored'; reason: 'bot' }
  | { index: number; status: 'rejected'; event_id?: string; error: { code: string; message: string; details?: FieldError[] } };

/**
 * POST /event (one event) and POST /events (a batch with per-item results). An event is answered
 * 202 only after the broker acknowledged it.
 */
export function eventRoutes(deps: EventRoutesDeps): Router {
  const { config, publisher, enricher } = deps;
  const now = deps.now ?? Date.now;
  const accepted = new Counter({
    name: 'sitestream_ingest_events_accepted_total',
    help: 'Events acknowledged by the broker and answered 202',
    registers: [deps.registry],
  });
  const rejected = new Counter({
    name: 'sitestream_ingest_events_rejected_total',
    help: 'Events refused, by reason',
    labelNames: ['reason'] as const,
    registers: [deps.registry],
  });
  // Codes come from the error catalog, routes from this file: a bounded label set. 503s by code are the
  // overload answers (OVERLOADED, BROKER_UNAVAILABLE, SHUTTING_DOWN).
  const ignored = new Counter({
    name: 'sitestream_ingest_events_ignored_total',
    help: 'Valid events answered 202 but not stored, by reason (bot: a crawler, preview fetcher, probe or headless browser)',
    labelNames: ['reason'] as const,
    registers: [deps.registry],
  });
  const refusedRequests = new Counter({
    name: 'sitestream_ingest_requests_refused_total',
    help: 'Requests answered with an error status, by route, status and error code',
    labelNames: ['route', 'status', 'code'] as const,
    registers: [deps.registry],
  });
  const countRefusal: ErrorRequestHandler = (err, req, _res, next) => {
    const appError = toAppError(err);
    refusedRequests.inc({ route: req.baseUrl === '/events' ? '/events' : '/event', status: String(appError.status), code: appError.code });
    next(appError);
  };

  // Built field by field: the input's user_agent and ip never reach the message. Ids ingest assigns are UUIDv7
  // (time-ordered, monotonic within this process), so the (site_id, event_id) unique index is written near its
  // right edge instead of at random pages; a client's own event_id is kept as given.
  const toMessage = (event: EventInput, context: EventContext, receivedAt: string): { message: OutgoingMessage; eventId: string } => {
    const body: EventMessage = {
      event_id: event.event_id ?? uuidv7(),
      site_id: event.site_id,
      event_type: event.event_type,
      path: event.path,
      user_id: event.user_id,
      timestamp: event.timestamp,
      received_at: receivedAt,
      ...context,
    };
    return { message: { key: body.site_id, value: JSON.stringify(body) }, eventId: body.event_id };
  };
  const policy = () => ({ maxFutureMs: now() + config.INGEST_MAX_FUTURE_SKEW_S * 1000 });

  const router = Router();
  const limits = new IngestLimits(config);
  // One budget for both routes: bounds the bytes all unfinished bodies of this process hold together.
  const readJson = jsonBody(config.INGEST_BODY_LIMIT_BYTES, new BodyBudget(config.INGEST_MAX_PENDING_BODY_BYTES));
  const corsForBeacons = cors({ origin: '*', methods: ['POST'], allowedHeaders: ['Content-Type'], maxAge: 86400 });
  router.options(['/event', '/events'], corsForBeacons);

  router.post('/event', corsForBeacons, ...readJson, async (req, res) => {
    const result = validateEventInput(req.body, policy());
    if (!result.ok) {
      rejected.inc({ reason: 'invalid' });
      throw Errors.invalidEvent(result.errors);
    }
    const enriched = enricher.enrich(result.value, requestFacts(req));
    if (enriched.bot) {
      ignored.inc({ reason: 'bot' });
      res.status(202).json({ status: 'ignored', reason: 'bot' });
      return;
    }
    const limited = limits.admit(result.value.site_id, req.ip ?? '');
    if (limited) {
      rejected.inc({ reason: 'limited' });
      throw limited;
    }
    const { message, eventId } = toMessage(result.value, enriched.context, new Date(now()).toISOString());
    try {
      await publisher.publish([message])[0];
    } catch (err) {
      rejected.inc({ reason: reasonOf(err) });
      throw err;
    }
    accepted.inc();
    res.status(202).json({ status: 'accepted', event_id: eventId });
  });

  router.post('/events', corsForBeacons, ...readJson, async (req, res) => {
    const events = (req.body as { events?: unknown } | null)?.events;
    const extra = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? Object.keys(req.body as object).filter((k) => k !== 'events') : [];
    if (!Array.isArray(events) || extra.length > 0) {
      throw Errors.invalidEvent([
        extra.length > 0
          ? { field: extra[0]!.slice(0, 64), message: 'is not an allowed field' }
          : { field: 'events', message: 'must be an array of events' },
      ]);
    }
    if (events.length === 0 || events.length > config.INGEST_MAX_BATCH_EVENTS) {
      throw Errors.invalidEvent([{ field: 'events', message: `must hold 1 to ${config.INGEST_MAX_BATCH_EVENTS} events` }]);
    }
    const receivedAt = new Date(now()).toISOString();
    const results: ItemResult[] = new Array(events.length);
    const valid: { index: number; message: OutgoingMessage; eventId: string }[] = [];
    const p = policy();
    const facts = requestFacts(req);
    let bots = 0;
    let invalid = 0;
    let limitFailure: AppError | undefined;
    events.forEach((event, index) => {
      const v = validateEventInput(event, p, `events/${index}`);
      if (!v.ok) {
        if (++invalid <= MAX_LISTED_INVALID) results[index] = { index, status: 'rejected', error: Errors.invalidEvent(v.errors).toJSON().error };
        return;
      }
      const enriched = enricher.enrich(v.value, facts);
      if (enriched.bot) {
        bots++;
        results[index] = { index, status: 'ignored', reason: 'bot' };
        return;
      }
      const limited = limits.admit(v.value.site_id, req.ip ?? '');
      if (limited) {
        limitFailure = limited;
        results[index] = { index, status: 'rejected', error: limited.toJSON().error };
      } else valid.push({ index, ...toMessage(v.value, enriched.context, receivedAt) });
    });
    rejected.inc({ reason: 'invalid' }, invalid);
    rejected.inc({ reason: 'limited' }, events.length - invalid - bots - valid.length);
    ignored.inc({ reason: 'bot' }, bots);

    let outcomes: PromiseSettledResult<void>[] = [];
    if (valid.length > 0) outcomes = await Promise.allSettled(publisher.publish(valid.map((v) => v.message)));
    let acceptedCount = 0;
    let failure: AppError | undefined;
    valid.forEach((v, i) => {
      const outcome = outcomes[i]!;
      if (outcome.status === 'fulfilled') {
        acceptedCount++;
        results[v.index] = { index: v.index, status: 'accepted', event_id: v.eventId };
      } else {
        failure = outcome.reason instanceof AppError ? outcome.reason : Errors.brokerUnavailable(1, outcome.reason);
        rejected.inc({ reason: reasonOf(failure) });
        // Its fate is unknown (the broker may have it): the id lets the client retry exactly once.
        results[v.index] = { index: v.index, status: 'rejected', event_id: v.eventId, error: failure.toJSON().error };
      }
    });
    accepted.inc(acceptedCount);
    const rejectedCount = events.length - acceptedCount - bots;
    // 202: none rejected (accepted or ignored as bots). 207: some taken. Otherwise why none was: 503 (retry),
    // 429/403 (limits) or 400.
    failure ??= limitFailure;
    const taken = acceptedCount + bots;
    const status = rejectedCount === 0 ? 202 : taken > 0 ? 207 : failure ? failure.status : 400;
    if (failure?.retryAfterSeconds !== undefined) res.set('Retry-After', String(failure.retryAfterSeconds));
    if (taken === 0) refusedRequests.inc({ route: '/events', status: String(status), code: failure ? failure.code : 'INVALID_EVENT' });
    const unlisted = Math.max(0, invalid - MAX_LISTED_INVALID);
    res.status(status).json({ accepted: acceptedCount, rejected: rejectedCount, ignored: bots, ...(unlisted > 0 ? { unlisted } : {}), results: results.filter(Boolean) });
  });

  router.use(['/event', '/events'], countRefusal);
  return router;
}

function requestFacts(req: Request): RequestFacts {
  return { ip: req.ip, userAgent: req.get('user-agent') };
}

function reasonOf(err: unknown): string {
  if (err instanceof AppError) {
    if (err.code === 'OVERLOADED') return 'overloaded';
    if (err.code === 'SHUTTING_DOWN') return 'shutting_down';
    if (err.code === 'BROKER_UNAVAILABLE') return 'broker';
  }
  return 'other';
}
