import type { Admin } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import { judgePosition, readStoredPositions, rewritePosition, type Knex } from '@sitestream/db';
import type { Component, Logger } from '@sitestream/shared';

export interface PositionCheckOptions {
  group: string;
  topic: string;
}

export interface PositionCheckDeps {
  admin: Admin;
  db: Knex;
  logger: Logger;
  registry: Registry;
}

/** Where a partition is read from after the check, and in which cluster's log that offset is. */
export interface CheckedPosition {
  partition: number;
  offset: number;
  clusterId: string;
}

/**
 * Before a member writes any batch of a partition it was assigned, the position PostgreSQL holds for it must be an
 * offset in the log the member reads (judgePosition in @sitestream/db says when it is). A position that is not is
 * rewritten to "this cluster, from the log's start" at once, on its own, before the partition's first batch.
 *
 * Crash safety: a crash before that rewrite commits leaves the old row, which the next start judges again; a crash
 * after it leaves a position in this log at or below every record not yet written, so the next start reads them all.
 * Nothing is skipped either way, and what is read twice is skipped by event id.
 */
export class PositionCheck implements Component {
  readonly id = 'position-check';
  private readonly resets: Counter<'partition'>;

  constructor(
    private readonly deps: PositionCheckDeps,
    private readonly options: PositionCheckOptions,
  ) {
    this.resets = new Counter({
      name: 'sitestream_consumer_positions_reset_total',
      help: 'Stored positions that belonged to another log (another Kafka cluster, a shorter recreated topic) and were restarted from the log start',
      labelNames: ['partition'] as const,
      registers: [deps.registry],
    });
  }

  async start(): Promise<void> {
    await this.deps.admin.connect();
  }

  /** Judges the stored positions of these partitions, rewrites the stale ones, and says where to read each from. */
  async check(partitions: number[]): Promise<CheckedPosition[]> {
    const { admin, db, logger } = this.deps;
    const { group, topic } = this.options;
    // The positions first, the log second: a position read before the high watermark cannot exceed it in its own log.
    const stored = await readStoredPositions(db, group, topic, partitions);
    const { clusterId } = await admin.describeCluster();
    const offsets = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
    const checked: CheckedPosition[] = [];
    for (const partition of partitions) {
      const log = offsets.get(partition);
      if (!log) throw new Error(`topic ${topic} has no partition ${partition} in Kafka cluster ${clusterId}`);
      this.resets.inc({ partition: String(partition) }, 0);
      const before = stored.get(partition);
      const verdict = judgePosition(before, { clusterId, high: log.high });
      if (before === undefined || verdict.action === 'start') {
        checked.push({ partition, offset: log.low, clusterId });
        continue;
      }
      const offset = verdict.action === 'reset' ? log.low : before.nextOffset;
      if (verdict.action !== 'keep' && !(await rewritePosition(db, { group, topic, partition }, before, { nextOffset: offset, clusterId }))) {
        throw new Error(`the stored position of ${topic}/${partition} changed while it was checked`);
      }
      const fields = { partition, stored_cluster_id: before.clusterId, stored_position: before.nextOffset, cluster_id: clusterId, high_watermark: log.high };
      if (verdict.action === 'reset') {
        this.resets.inc({ partition: String(partition) });
        logger.warn(
          { ...fields, reason: verdict.reason, restart_from: offset },
          'stored position belongs to another log (another Kafka cluster, or a recreated topic): reading this partition again from the log start; events already stored are skipped by event id',
        );
      } else if (verdict.action === 'adopt') {
        logger.info(fields, 'stored position has no Kafka cluster yet and fits this log: recorded this cluster');
      }
      checked.push({ partition, offset, clusterId });
    }
    return checked;
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {
    await this.deps.admin.disconnect();
  }
}

/**
 * One member's checks, per partition it holds: no batch of a partition is written before its check succeeded, since a
 * position from another log makes the write path drop this log's records below it as replays. Each check ends with
 * a seek to where the partition is read from. A failed check is forgotten, so the next batch checks again.
 */
export class PartitionChecks {
  private readonly checked = new Map<number, Promise<CheckedPosition>>();

  constructor(
    private readonly check: (partitions: number[]) => Promise<CheckedPosition[]>,
    private readonly seek: (position: CheckedPosition) => void,
  ) {}

  /** A new assignment: every earlier check is void, these partitions are checked now. */
  assigned(partitions: number[]): Promise<unknown> {
    this.checked.clear();
    return this.run(partitions);
  }

  /** The partition's checked position: the pending or finished check, or a new one. */
  async of(partition: number): Promise<CheckedPosition> {
    return (await this.checked.get(partition)) ?? (await this.run([partition])).get(partition)!;
  }

  /** The stored position is not the one checked (a fenced write): the next batch checks again. */
  forget(partition: number): void {
    this.checked.delete(partition);
  }

  private run(partitions: number[]): Promise<Map<number, CheckedPosition>> {
    const run = this.check(partitions).then((checked) => {
      for (const c of checked) this.seek(c);
      return new Map(checked.map((c) => [c.partition, c]));
    });
    for (const partition of partitions) {
      const mine = run.then((m) => m.get(partition)!);
      this.checked.set(partition, mine);
      mine.catch(() => this.checked.get(partition) === mine && this.checked.delete(partition));
    }
    return run;
  }
}
