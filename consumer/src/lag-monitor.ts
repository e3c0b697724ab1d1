import type { Admin } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';
import { readPositions, type Knex } from '@sitestream/db';
import type { Component, Logger } from '@sitestream/shared';

export interface LagMonitorOptions {
  group: string;
  topic: string;
  intervalMs: number;
  /** Partitions this member holds right now. */
  assigned: () => number[];
}

/**
 * Measures lag on a timer rather than after each batch, so a stalled member (database down, frozen) shows
 * its lag growing instead of a frozen last value. Lag = broker high watermark − position, where the
 * position is the database's (the truth), or Kafka's committed offset when the database cannot answer.
 */
export class LagMonitor implements Component {
  readonly id = 'lag-monitor';
  private timer: NodeJS.Timeout | undefined;
  private measuring: Promise<void> | undefined;
  private readonly lag: Gauge<'partition'>;

  constructor(
    private readonly admin: Admin,
    private readonly db: Knex,
    private readonly options: LagMonitorOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.lag = new Gauge({
      name: 'sitestream_consumer_lag_messages',
      help: 'Records not yet stored per partition held by this member (high watermark − stored position), measured on a timer',
      labelNames: ['partition'] as const,
      registers: [registry],
    });
  }

  async start(): Promise<void> {
    await this.admin.connect();
    this.timer = setInterval(() => {
      this.measuring ??= this.measure().finally(() => (this.measuring = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async measure(): Promise<void> {
    const { group, topic } = this.options;
    const assigned = this.options.assigned();
    try {
      const high = new Map((await this.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
      let positions: Map<number, number>;
      try {
        positions = await readPositions(this.db, group, topic, assigned);
      } catch {
        const committed = await this.admin.fetchOffsets({ groupId: group, topics: [topic] });
        positions = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
      }
      this.lag.reset();
      for (const partition of assigned) {
        const h = high.get(partition);
        if (h !== undefined) this.lag.set({ partition: String(partition) }, Math.max(0, h - (positions.get(partition) ?? 0)));
      }
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'lag measurement failed');
    }
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.measuring;
    await this.admin.disconnect();
  }
}
