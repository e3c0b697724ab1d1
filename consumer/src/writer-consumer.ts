import { backOff } from 'exponential-backoff';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { classifyDbError, describeDbError, type Knex } from '@sitestream/db';
import type { Component, Logger } from '@sitestream/shared';
import { FencedError, writeBatch, type WriteResult } from './event-writer';
import { PartitionChecks, type CheckedPosition, type PositionCheck } from './position-check';
import { decodeRecord, POISON_REASONS, type DecodedRecord } from './record-decoder';

export interface WriterOptions {
  group: string;
  topic: string;
  partitionsConsumedConcurrently: number;
  /** Records written per transaction: a bigger fetch is written in slices of this many. */
  maxRecordsPerTransaction: number;
  retryMaxDelayMs: number;
}

export interface WriterDeps {
  consumer: Consumer;
  db: Knex;
  /** Told when a batch stored dead letters, so they reach the dead-letter topic soon (dead-letter-relay.ts). */
  deadLettersStored: () => void;
  logger: Logger;
  registry: Registry;
  /** Says whether a stored position is an offset in the log this member reads, and where to read from. */
  positions: Pick<PositionCheck, 'check'>;
}

/** While a batch's transaction runs, the group is told we are alive this often (kafkajs throttles it further). */
const HEARTBEAT_WHILE_WRITING_MS = 3000;

/**
 * The consumer-group member that moves events from Kafka into PostgreSQL. PostgreSQL holds the truth about
 * what was written (see event-writer.ts); committing offsets to Kafka afterwards is only a hint that saves
 * re-reading, so a crash at any instant costs at most a replay that the database then skips.
 */
export class WriterConsumer implements Component {
  readonly id = 'kafka-consumer';
  private running = false;
  private assigned: number[] = [];
  private crashed = false;
  /**
   * Partitions whose batch failed with an error that is neither transient nor bad data (a bug, a schema that does
   * not match the code, missing privileges). Such a batch is never skipped: it is retried at the slowest pace and
   * announced (readiness false, a gauge, an error log) until it succeeds.
   */
  private readonly stuck = new Map<number, string>();
  /** Each assigned partition's stored position, checked against the log this member reads before any write. */
  private readonly checks: PartitionChecks;
  /** Newest `received_at` (ms) among committed events: freshness is measured against it. */
  private newestCommittedReceivedAt = 0;
  private readonly metrics;

  constructor(
    private readonly deps: WriterDeps,
    private readonly options: WriterOptions,
  ) {
    this.checks = new PartitionChecks(
      (partitions) => deps.positions.check(partitions),
      // Kafka's committed offsets trail the database (committed after it), so after a crash Kafka would replay what the
      // database has; in another cluster they mean nothing. Each partition starts where the check says.
      (p) => deps.consumer.seek({ topic: options.topic, partition: p.partition, offset: String(p.offset) }),
    );
    const registers = [deps.registry];
    const self = this;
    this.metrics = {
      batches: new Counter({ name: 'sitestream_consumer_batches_total', help: 'Batches processed, by outcome', labelNames: ['outcome'] as const, registers }),
      written: new Counter({ name: 'sitestream_consumer_events_written_total', help: 'Events inserted into PostgreSQL', registers }),
      duplicates: new Counter({ name: 'sitestream_consumer_duplicates_skipped_total', help: 'Events not inserted because their (site_id, event_id) was already stored', registers }),
      erased: new Counter({ name: 'sitestream_consumer_erased_events_dropped_total', help: 'Events not stored because a tombstone forbids it (an erased visitor, a deleted site)', registers }),
      replayed: new Counter({ name: 'sitestream_consumer_replayed_records_total', help: 'Records skipped because they were below the stored position', registers }),
      dead: new Counter({ name: 'sitestream_consumer_dead_lettered_total', help: 'Records dead-lettered, by reason', labelNames: ['reason'] as const, registers }),
      gaps: new Counter({ name: 'sitestream_consumer_offset_gap_records_total', help: 'Offsets missing between the stored position and the next record read', registers }),
      retries: new Counter({ name: 'sitestream_consumer_transient_retries_total', help: 'Batch attempts retried after a transient database or broker error', registers }),
      txSeconds: new Histogram({
        name: 'sitestream_consumer_transaction_duration_seconds',
        help: 'Duration of the write transaction per batch',
        buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
      batchSize: new Histogram({
        name: 'sitestream_consumer_batch_size',
        help: 'Records per batch',
        buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
        registers,
      }),
      lastCommit: new Gauge({ name: 'sitestream_consumer_last_commit_timestamp_seconds', help: 'Unix time of the last successful database commit', registers }),
      freshness: new Gauge({
        name: 'sitestream_consumer_freshness_seconds',
        help: 'Now minus the ingest time of the newest committed event',
        registers,
        collect() {
          // NaN (unknown) before the first commit: 0 would claim perfect freshness.
          this.set(self.newestCommittedReceivedAt > 0 ? Math.max(0, (Date.now() - self.newestCommittedReceivedAt) / 1000) : Number.NaN);
        },
      }),
      rebalances: new Counter({ name: 'sitestream_consumer_rebalances_total', help: 'Group joins of this member', registers }),
      stuck: new Gauge({
        name: 'sitestream_consumer_stuck_partitions',
        help: 'Partitions whose batch keeps failing with an error that is neither transient nor bad data',
        registers,
        collect() {
          this.set(self.stuck.size);
        },
      }),
    };
  }

  async start(): Promise<void> {
    const { consumer } = this.deps;
    // Every reason exists from the start at 0, so increase() sees the first dead letter.
    for (const reason of POISON_REASONS) this.metrics.dead.inc({ reason }, 0);
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.metrics.rebalances.inc();
      const assigned = e.payload.memberAssignment[this.options.topic] ?? [];
      this.assigned = [...assigned];
      for (const partition of this.stuck.keys()) if (!assigned.includes(partition)) this.stuck.delete(partition);
      this.deps.logger.info({ partitions: assigned }, 'joined group');
      this.checks.assigned(assigned).catch((err: unknown) => {
        // Each partition's first batch checks again before it writes.
        this.deps.logger.warn({ err: (err as Error).message }, 'could not check the stored positions');
      });
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const err = e.payload.error?.message;
      this.crashed ||= !e.payload.restart;
      if (e.payload.restart) this.deps.logger.warn({ err }, 'consumer restarting after a retriable Kafka error');
      else this.deps.logger.error({ err }, 'consumer crashed and stopped consuming');
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      autoCommitInterval: 1000,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.running = true;
  }

  /** The partition's checked position, checking again (with backoff) while checks fail; undefined once it is not ours. */
  private async positionChecked(partition: number, payload: EachBatchPayload): Promise<CheckedPosition | undefined> {
    const { heartbeat, isRunning, isStale } = payload;
    try {
      return await backOff(() => this.checks.of(partition), {
        numOfAttempts: Number.MAX_SAFE_INTEGER,
        startingDelay: 100,
        maxDelay: this.options.retryMaxDelayMs,
        jitter: 'full',
        retry: async (err: unknown) => {
          if (!isRunning() || isStale()) return false;
          this.metrics.retries.inc();
          // Kafka's errors say whether they pass (retriable); a check that cannot succeed is announced as stuck.
          if (classifyDbError(err) === 'transient' || (err as { retriable?: unknown }).retriable === true) {
            this.deps.logger.warn({ err: (err as Error).message, partition }, 'could not check the stored position against the log; retrying before writing');
          } else this.markStuck(partition, err);
          await heartbeat().catch(() => undefined);
          return true;
        },
      });
    } catch {
      return undefined;
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const position = await this.positionChecked(batch.partition, payload);
    // The check seeks: the batch in hand may start anywhere, and the next fetch starts where the check said.
    if (!position || !isRunning() || isStale()) return;
    const records = batch.messages.map((m) => decodeRecord(m.offset, m.value, m.timestamp));
    this.metrics.batchSize.observe(records.length);
    // A fetch after a backlog can hold thousands of records: one transaction per slice keeps each transaction (and
    // the statements in it) short, so a slow database meets its statement timeout far less often.
    const per = this.options.maxRecordsPerTransaction;
    for (let i = 0; i < records.length; i += per) {
      if (!isRunning() || isStale()) return;
      const slice = records.slice(i, i + per);
      if (!(await this.writeSlice(batch.topic, batch.partition, position.clusterId, slice, payload))) return;
      // Only now, after the database commit, may Kafka learn that we are past these offsets.
      resolveOffset(String(slice[slice.length - 1]!.offset));
      await heartbeat();
    }
    await commitOffsetsIfNecessary();
  }

  /** Writes one slice exactly once; false when the partition is no longer ours (fenced, revoked, stopping). */
  private async writeSlice(topic: string, partition: number, clusterId: string, records: DecodedRecord[], payload: EachBatchPayload): Promise<boolean> {
    const { heartbeat, isRunning, isStale } = payload;
    let result: WriteResult;
    const startedAt = performance.now();
    // A transaction may wait (a rebuild holds the site's lock, the database restarts): keep the membership.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_WHILE_WRITING_MS);
    try {
      // Transient failures (database restarting) are retried with capped backoff for as long as we still own the
      // partition; other failures too, at the capped pace and announced as stuck. The batch is never skipped.
      result = await backOff(() => this.writeOnce(topic, partition, clusterId, records), {
        numOfAttempts: Number.MAX_SAFE_INTEGER,
        startingDelay: 100,
        maxDelay: this.options.retryMaxDelayMs,
        jitter: 'full',
        retry: async (err: unknown) => {
          if (err instanceof FencedError || !isRunning() || isStale()) return false;
          this.metrics.retries.inc();
          if (classifyDbError(err) === 'transient') {
            this.deps.logger.warn({ err: (err as Error).message, partition }, 'transient error; retrying batch');
          } else {
            this.markStuck(partition, err);
            // The slowest pace at once: the error will not go away by itself.
            await new Promise((resolve) => setTimeout(resolve, this.options.retryMaxDelayMs));
          }
          return true;
        },
      });
    } catch (err) {
      if (err instanceof FencedError) {
        this.metrics.batches.inc({ outcome: 'fenced' });
        this.deps.logger.warn({ partition }, err.message);
        // The stored position is not the one checked: the partition's next batch checks (and seeks) again.
        this.checks.forget(partition);
        return false;
      }
      this.metrics.batches.inc({ outcome: 'error' });
      this.deps.logger.error({ err: (err as Error).message, partition }, 'batch failed; kafkajs will retry it');
      throw err;
    } finally {
      clearInterval(beat);
    }
    if (this.stuck.delete(partition)) this.deps.logger.info({ partition }, 'partition no longer stuck');
    this.recordSuccess(partition, records, result, performance.now() - startedAt);
    return true;
  }

  private async writeOnce(topic: string, partition: number, clusterId: string, records: DecodedRecord[]): Promise<WriteResult> {
    const stopTimer = this.metrics.txSeconds.startTimer();
    const result = await writeBatch(this.deps.db, { group: this.options.group, topic, partition, clusterId, records });
    stopTimer();
    if (result.deadLettered.length > 0) this.deps.deadLettersStored();
    return result;
  }

  private markStuck(partition: number, err: unknown): void {
    const reason = describeDbError(err);
    if (this.stuck.get(partition) !== reason) {
      this.deps.logger.error({ partition, err: reason }, 'batch keeps failing with a non-transient error; retrying slowly, not skipping it');
    }
    this.stuck.set(partition, reason);
  }

  private recordSuccess(partition: number, records: DecodedRecord[], result: WriteResult, transactionMs: number): void {
    this.metrics.batches.inc({ outcome: 'ok' });
    this.metrics.written.inc(result.inserted);
    this.metrics.duplicates.inc(result.duplicates);
    this.metrics.erased.inc(result.erased);
    this.metrics.replayed.inc(result.skipped);
    for (const d of result.deadLettered) this.metrics.dead.inc({ reason: d.poison.reason });
    if (result.gap > 0) {
      this.metrics.gaps.inc(result.gap);
      this.deps.logger.warn({ partition, missing: result.gap }, 'offset gap: records were never read');
    }
    const now = Date.now();
    this.metrics.lastCommit.set(now / 1000);
    for (const r of records) {
      if (r.event) {
        const t = Date.parse(r.event.received_at);
        if (t > this.newestCommittedReceivedAt && t <= now) this.newestCommittedReceivedAt = t;
      }
    }
    // One line per batch: a handful per second per partition, cheap at info.
    this.deps.logger.info(
      {
        partition,
        first_offset: records[0]?.offset,
        last_offset: records[records.length - 1]?.offset,
        records: records.length,
        inserted: result.inserted,
        duplicates: result.duplicates,
        erased: result.erased,
        skipped: result.skipped,
        dead: result.deadLettered.length,
        ms: Math.round(transactionMs),
      },
      'batch committed',
    );
  }

  /** Partitions assigned to this member at its last group join. */
  assignedPartitions(): number[] {
    return this.assigned;
  }

  isReady(): boolean {
    return this.running && !this.crashed && this.stuck.size === 0;
  }

  /** Stops fetching, lets the batch in hand finish and commit, leaves the group. */
  async close(): Promise<void> {
    this.running = false;
    await this.deps.consumer.disconnect();
  }
}
