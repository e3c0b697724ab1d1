import type { Admin, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Errors, type AppError, type Component, type Logger } from '@sitestream/shared';

/** A record as kafkajs sends it: serialised once, so neither its size nor kafkajs has to encode it again. */
export interface OutgoingMessage {
  key: Buffer;
  value: Buffer;
}

export interface PublisherOptions {
  topic: string;
  lingerMs: number;
  maxBatch: number;
  /** Bytes of records per produce request: below the broker's (topic's) max.message.bytes. */
  maxBatchBytes: number;
  maxBuffered: number;
  maxBufferedBytes: number;
  timeoutMs: number;
}

/**
 * What became of one publish() call: undefined when the broker acknowledged every message, otherwise the error
 * of each message it did not (by index; acknowledged ones are undefined). A call's messages can be split over
 * produce requests, so some may be acknowledged and others not.
 */
export type PublishFailures = (AppError | undefined)[] | undefined;

/** One publish() call's messages in flight: settles its single promise when the last of them is answered. */
class Ticket {
  private left: number;
  private failures: PublishFailures;
  constructor(
    private readonly size: number,
    private readonly done: (failures: PublishFailures) => void,
  ) {
    this.left = size;
  }

  settle(index: number, failure?: AppError): void {
    if (failure) (this.failures ??= new Array<AppError | undefined>(this.size))[index] = failure;
    if (--this.left === 0) this.done(this.failures);
  }
}

interface Pending {
  message: OutgoingMessage;
  bytes: number;
  ticket: Ticket;
  index: number;
}

/** How long a broker acknowledgement counts as proof of readiness before /readyz asks the broker itself. */
const FRESH_ACK_MS = 2000;
const PROBE_EVERY_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;
/**
 * A record's bytes beyond its key and value in a v2 record batch: attributes, timestamp and offset deltas,
 * length varints, header count (≤ 21 bytes), rounded up; plus the batch header (61 bytes) counted once per request.
 */
export const RECORD_OVERHEAD_BYTES = 32;
export const BATCH_OVERHEAD_BYTES = 128;

/** What one message costs in a produce request (and in memory while buffered). */
export function recordBytes(message: OutgoingMessage): number {
  return message.key.length + message.value.length + RECORD_OVERHEAD_BYTES;
}

/**
 * Gathers the events of concurrent requests into one produce request (kafkajs has no linger of its own),
 * waits for the broker's acknowledgement with acks=-1, then settles every event of the batch. A produce request
 * holds at most `maxBatch` events and `maxBatchBytes` bytes, so it never exceeds the broker's message.max.bytes:
 * kafkajs fails a whole send with MESSAGE_TOO_LARGE, which would fail every client's events of that flush.
 * The buffer is bounded in events and in bytes: past either, publish() refuses at once instead of queueing.
 */
export class EventPublisher implements Component {
  readonly id = 'kafka-producer';
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** Events handed to kafkajs whose send has not settled yet (it can outlive our deadline), and their bytes. */
  private inFlight = 0;
  private inFlightBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Produce requests awaiting their acknowledgement (or deadline). */
  private sending = 0;
  private closing = false;
  /** Shutting down: requests still in flight are served, but nothing waits for the linger any more. */
  private draining = false;
  private lastAckAt = 0;
  private lastFailureAt = 0;
  private probe: { at: number; ok: boolean; running?: Promise<boolean> } = { at: 0, ok: true };
  private readonly flushes = new Set<Promise<void>>();
  private readonly metrics;

  constructor(
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly options: PublisherOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    const publisher = this;
    this.metrics = {
      batchSize: new Histogram({
        name: 'sitestream_ingest_produce_batch_size',
        help: 'Events per produce request',
        buckets: [1, 5, 20, 50, 100, 250, 500, 1000, 2000],
        registers: [registry],
      }),
      produceSeconds: new Histogram({
        name: 'sitestream_ingest_produce_duration_seconds',
        help: 'Time from produce request to broker acknowledgement (or to the deadline)',
        labelNames: ['outcome'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
      buffered: new Gauge({
        name: 'sitestream_ingest_buffered_events',
        help: 'Events held in memory: waiting for the linger timer or for the broker',
        registers: [registry],
        collect() {
          this.set(publisher.buffered);
        },
      }),
      bufferLimit: new Gauge({
        name: 'sitestream_ingest_buffer_limit_events',
        help: 'INGEST_MAX_BUFFERED_EVENTS: past this many buffered events ingest answers 503',
        registers: [registry],
      }),
      refused: new Counter({
        name: 'sitestream_ingest_publish_refused_total',
        help: 'Events refused before or by the broker, by reason',
        labelNames: ['reason'] as const,
        registers: [registry],
      }),
    };
    this.metrics.bufferLimit.set(options.maxBuffered);
  }

  get buffered(): number {
    return this.pending.length + this.inFlight;
  }

  get bufferedBytes(): number {
    return this.pendingBytes + this.inFlightBytes;
  }

  /**
   * One promise per call, not per message: resolves once the broker answered every message (see PublishFailures;
   * it never rejects). Throws at once, with a retriable AppError, when shutting down or when the buffer is full.
   */
  publish(messages: OutgoingMessage[]): Promise<PublishFailures> {
    if (this.closing) {
      this.metrics.refused.inc({ reason: 'shutting_down' }, messages.length);
      throw Errors.shuttingDown();
    }
    let bytes = 0;
    for (const m of messages) bytes += recordBytes(m);
    if (this.buffered + messages.length > this.options.maxBuffered || this.bufferedBytes + bytes > this.options.maxBufferedBytes) {
      this.metrics.refused.inc({ reason: 'buffer_full' }, messages.length);
      throw Errors.overloaded(1);
    }
    this.pendingBytes += bytes;
    const settled = new Promise<PublishFailures>((resolve) => {
      const ticket = new Ticket(messages.length, resolve);
      messages.forEach((message, index) => this.pending.push({ message, bytes: recordBytes(message), ticket, index }));
    });
    // Adaptive linger: with nothing in flight, send what this turn of the event loop gathered (low latency when
    // quiet); while a produce is in flight, keep gathering until it returns or the linger passes (big batches
    // under load, which is where kafkajs spends less CPU per event).
    if (this.pending.length >= this.options.maxBatch || this.pendingBytes >= this.options.maxBatchBytes) this.flushNow();
    else if (this.sending === 0 || this.draining) this.immediate ??= setImmediate(() => this.flushNow());
    else this.timer ??= setTimeout(() => this.flushNow(), this.options.lingerMs);
    return settled;
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.batchLength());
      const flush = this.send(batch).finally(() => this.flushes.delete(flush));
      this.flushes.add(flush);
    }
  }

  /** How many pending events the next produce request takes: at least one, within both limits. */
  private batchLength(): number {
    let bytes = BATCH_OVERHEAD_BYTES;
    let n = 0;
    while (n < this.pending.length && n < this.options.maxBatch) {
      bytes += this.pending[n]!.bytes;
      if (n > 0 && bytes > this.options.maxBatchBytes) break;
      n++;
    }
    return n;
  }

  private async send(batch: Pending[]): Promise<void> {
    const bytes = batch.reduce((sum, p) => sum + p.bytes, 0);
    this.pendingBytes -= bytes;
    this.inFlightBytes += bytes;
    this.inFlight += batch.length;
    this.sending++;
    this.metrics.batchSize.observe(batch.length);
    const stopTimer = this.metrics.produceSeconds.startTimer();
    let deadline: NodeJS.Timeout | undefined;
    const sent = this.producer.send({
      topic: this.options.topic,
      acks: -1,
      timeout: this.options.timeoutMs,
      messages: batch.map((p) => p.message),
    });
    // The events stay counted until kafkajs lets go of them, even past our deadline: that is what keeps
    // memory bounded while the broker is gone. A late outcome must not become an unhandled rejection.
    const settle = () => {
      this.inFlight -= batch.length;
      this.inFlightBytes -= bytes;
    };
    sent.then(settle, settle);
    try {
      const timeout = new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`no acknowledgement within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      });
      await Promise.race([sent, timeout]);
      stopTimer({ outcome: 'ok' });
      this.lastAckAt = Date.now();
      for (const p of batch) p.ticket.settle(p.index);
    } catch (err) {
      stopTimer({ outcome: 'error' });
      this.lastFailureAt = Date.now();
      this.metrics.refused.inc({ reason: 'broker' }, batch.length);
      this.logger.warn({ err: (err as Error).message, events: batch.length }, 'produce failed');
      const failure = Errors.brokerUnavailable(1, err);
      for (const p of batch) p.ticket.settle(p.index, failure);
    } finally {
      clearTimeout(deadline);
      this.sending--;
      // What gathered while this produce was out goes now rather than at the end of its linger.
      if (this.sending === 0 && this.pending.length > 0 && !this.closing) this.flushNow();
    }
  }

  /**
   * Ready while the broker answers: a recent acknowledgement proves it; otherwise (idle, or after a failure)
   * a metadata request decides, at most once a second and shared by concurrent callers.
   */
  async isReady(): Promise<boolean> {
    const now = Date.now();
    if (this.lastAckAt > this.lastFailureAt && now - this.lastAckAt < FRESH_ACK_MS) return true;
    if (now - this.probe.at < PROBE_EVERY_MS) return this.probe.running ?? this.probe.ok;
    this.probe.at = now;
    const running = withTimeout(this.admin.fetchTopicMetadata({ topics: [this.options.topic] }), PROBE_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    this.probe.running = running;
    this.probe.ok = await running;
    this.probe.running = undefined;
    return this.probe.ok;
  }

  /**
   * The first step of shutdown: what waits for the linger goes now, and so does every event the requests still
   * in flight bring, so the HTTP server can finish them quickly.
   */
  drain(): void {
    this.draining = true;
    this.flushNow();
  }

  /** Refuses new events, sends what is queued, waits for every produce in flight to be answered, then disconnects. */
  async close(): Promise<void> {
    this.closing = true;
    this.flushNow();
    await Promise.allSettled([...this.flushes]);
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
