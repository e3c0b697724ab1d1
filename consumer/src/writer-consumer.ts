import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Component, Knex, Logger } from '@sitestream/shared';
import { FencedError, writeBatch, type WriteResult } from './event-writer';
import { decodeRecord } from './record-decoder';

export interface WriterOptions {
  group: string;
  topic: string;
  dlqTopic: string;
  partitionsConsumedConcurrently: number;
}

export interface WriterDeps {
  consumer: Consumer;
  /** Used for the dead-letter topic. */
  producer: Producer;
  db: Knex;
  logger: Logger;
  registry: Registry;
}

/**
 * The consumer-group member that moves events from Kafka into PostgreSQL. PostgreSQL holds the truth about
 * what was written (see event-writer.ts); committing offsets to Kafka afterwards is only a hint that saves
 * re-reading, so a crash at any instant costs at most a replay that the database then skips.
 */
export class WriterConsumer implements Component {
  readonly id = 'kafka-consumer';
  private running = false;
  private crashed = false;
  private readonly metrics;

  constructor(
    private readonly deps: WriterDeps,
    private readonly options: WriterOptions,
  ) {
    const registers = [deps.registry];
    this.metrics = {
      batches: new Counter({ name: 'sitestream_consumer_batches_total', help: 'Batches processed, by outcome', labelNames: ['outcome'] as const, registers }),
      written: new Counter({ name: 'sitestream_consumer_events_written_total', help: 'Events inserted into PostgreSQL', registers }),
      duplicates: new Counter({ name: 'sitestream_consumer_duplicates_skipped_total', help: 'Events not inserted because their (site_id, event_id) was already stored', registers }),
      replayed: new Counter({ name: 'sitestream_consumer_replayed_records_total', help: 'Records skipped because they were below the stored position', registers }),
      dead: new Counter({ name: 'sitestream_consumer_dead_lettered_total', help: 'Records dead-lettered, by reason', labelNames: ['reason'] as const, registers }),
      gaps: new Counter({ name: 'sitestream_consumer_offset_gap_records_total', help: 'Offsets missing between the stored position and the next record read', registers }),
      txSeconds: new Histogram({
        name: 'sitestream_consumer_transaction_duration_seconds',
        help: 'Duration of the write transaction per batch',
        buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
      lastCommit: new Gauge({ name: 'sitestream_consumer_last_commit_timestamp_seconds', help: 'Unix time of the last successful database commit', registers }),
      rebalances: new Counter({ name: 'sitestream_consumer_rebalances_total', help: 'Group joins of this member', registers }),
    };
  }

  async start(): Promise<void> {
    const { consumer, producer } = this.deps;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.metrics.rebalances.inc();
      this.deps.logger.info({ assignment: e.payload.memberAssignment }, 'joined group');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.deps.logger.error({ err: e.payload.error?.message, restart: e.payload.restart }, 'consumer crashed');
      if (!e.payload.restart) this.crashed = true;
    });
    await producer.connect();
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

  private async handleBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const records = batch.messages.map((m) => decodeRecord(m.offset, m.value));
    const stopTimer = this.metrics.txSeconds.startTimer();
    let result: WriteResult;
    try {
      // Dead letters go to the DLQ topic before the transaction that moves past them: a crash in between
      // repeats the DLQ record (consumers of the DLQ dedupe on its position headers), never loses it.
      const poison = records.filter((r) => r.poison);
      if (poison.length > 0) await this.publishDeadLetters(batch.topic, batch.partition, poison.map((r) => ({ offset: r.offset, raw: r.raw, poison: r.poison! })));
      result = await writeBatch(this.deps.db, { group: this.options.group, topic: batch.topic, partition: batch.partition, records });
      // Rows the database refused are found only inside the transaction; they are stored in dead_letters already.
      const refused = result.deadLettered.filter((d) => d.poison.reason === 'database_rejected');
      if (refused.length > 0) await this.publishDeadLetters(batch.topic, batch.partition, refused);
    } catch (err) {
      stopTimer();
      if (err instanceof FencedError) {
        this.metrics.batches.inc({ outcome: 'fenced' });
        this.deps.logger.warn({ partition: batch.partition }, err.message);
        return;
      }
      this.metrics.batches.inc({ outcome: 'error' });
      this.deps.logger.warn({ err: (err as Error).message, partition: batch.partition }, 'batch failed; kafkajs will retry it');
      throw err;
    }
    stopTimer();
    this.metrics.batches.inc({ outcome: 'ok' });
    this.metrics.written.inc(result.inserted);
    this.metrics.duplicates.inc(result.duplicates);
    this.metrics.replayed.inc(result.skipped);
    for (const d of result.deadLettered) this.metrics.dead.inc({ reason: d.poison.reason });
    if (result.gap > 0) {
      this.metrics.gaps.inc(result.gap);
      this.deps.logger.warn({ partition: batch.partition, missing: result.gap }, 'offset gap: records were never read');
    }
    this.metrics.lastCommit.set(Date.now() / 1000);
    this.deps.logger.debug(
      { partition: batch.partition, records: records.length, inserted: result.inserted, duplicates: result.duplicates, skipped: result.skipped, dead: result.deadLettered.length },
      'batch committed',
    );
    // Only now, after the database commit, may Kafka learn that we are past these offsets.
    resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
    await heartbeat();
    await commitOffsetsIfNecessary();
  }

  private async publishDeadLetters(topic: string, partition: number, dead: WriteResult['deadLettered']): Promise<void> {
    await this.deps.producer.send({
      topic: this.options.dlqTopic,
      acks: -1,
      messages: dead.map((d) => ({
        key: `${topic}/${partition}/${d.offset}`,
        value: d.raw,
        headers: {
          reason: d.poison.reason,
          error: d.poison.error.slice(0, 1000),
          'original-topic': topic,
          'original-partition': String(partition),
          'original-offset': String(d.offset),
        },
      })),
    });
  }

  isReady(): boolean {
    return this.running && !this.crashed;
  }

  /** Stops fetching, lets the batch in hand finish and commit, leaves the group. */
  async close(): Promise<void> {
    this.running = false;
    await this.deps.consumer.disconnect();
    await this.deps.producer.disconnect();
  }
}
