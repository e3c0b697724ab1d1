import { Counter, type Registry } from 'prom-client';
import { applyRetentionExclusively, type Knex } from '@sitestream/db';
import type { Component, Logger } from '@sitestream/shared';

export interface RetentionJobOptions {
  defaultDays: number;
  intervalMs: number;
}

/**
 * Runs retention (see @sitestream/db retention) on a timer in every consumer; the advisory lock makes one of
 * them does it while the others skip that tick. The consumer hosts it because it is the one service that always
 * runs and already writes the tables.
 */
export class RetentionJob implements Component {
  readonly id = 'retention-job';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly deleted: Counter<'kind'>;
  private readonly runs: Counter<'outcome'>;

  constructor(
    private readonly deps: { db: Knex; logger: Logger; registry: Registry },
    private readonly options: RetentionJobOptions,
  ) {
    const registers = [deps.registry];
    this.deleted = new Counter({ name: 'sitestream_consumer_retention_deleted_rows_total', help: 'Rows removed by retention, by kind (raw_events, rollup_rows)', labelNames: ['kind'] as const, registers });
    this.runs = new Counter({ name: 'sitestream_consumer_retention_runs_total', help: 'Retention runs, by outcome (ok, skipped: another process held the lock, error)', labelNames: ['outcome'] as const, registers });
    for (const kind of ['raw_events', 'rollup_rows']) this.deleted.inc({ kind }, 0);
    for (const outcome of ['ok', 'skipped', 'error']) this.runs.inc({ outcome }, 0);
  }

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One run now, unless one is in progress here. */
  runOnce(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    try {
      const sites = await applyRetentionExclusively(this.deps.db, { defaultDays: this.options.defaultDays });
      if (!sites) {
        this.runs.inc({ outcome: 'skipped' });
        return;
      }
      for (const s of sites) {
        this.deleted.inc({ kind: 'raw_events' }, s.events);
        this.deleted.inc({ kind: 'rollup_rows' }, s.rollupRows);
        if (s.events + s.rollupRows > 0) this.deps.logger.info({ site_id: s.siteId, kept_from: s.keptFrom, events: s.events, rollup_rows: s.rollupRows }, 'retention applied');
      }
      this.runs.inc({ outcome: 'ok' });
    } catch (err) {
      this.runs.inc({ outcome: 'error' });
      this.deps.logger.error({ err: (err as Error).message }, 'retention run failed; trying again on the next tick');
    }
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
