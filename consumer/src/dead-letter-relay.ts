import type { Producer } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import { relayDeadLetters, type Knex, type StoredDeadLetter } from '@sitestream/db';
import type { Component, Logger } from '@sitestream/shared';

export interface RelayDeps {
  db: Knex;
  producer: Producer;
  logger: Logger;
  registry: Registry;
}

export interface RelayOptions {
  dlqTopic: string;
  /** How often unpublished dead letters are looked for when no batch announced any (a missed publish, a crash). */
  intervalMs: number;
}

const ROWS_PER_PUBLISH = 500;

/**
 * Publishes dead letters to the dead-letter topic from their table (the outbox: see @sitestream/db dead-letters).
 * The writer kicks it after a batch that stored dead letters; a timer catches whatever a failed publish or a crash
 * left behind. Every replica may run one: the rows' locks keep two from publishing the same rows at once.
 */
export class DeadLetterRelay implements Component {
  readonly id = 'dead-letter-relay';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly published: Counter<'outcome'>;

  constructor(
    private readonly deps: RelayDeps,
    private readonly options: RelayOptions,
  ) {
    this.published = new Counter({
      name: 'sitestream_consumer_dead_letter_publishes_total',
      help: 'Dead letters handed to the dead-letter topic, by outcome (error: left in the table for the next try)',
      labelNames: ['outcome'] as const,
      registers: [deps.registry],
    });
    this.published.inc({ outcome: 'ok' }, 0);
    this.published.inc({ outcome: 'error' }, 0);
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Publishes what is waiting, now or right after the publish in progress. Never throws. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      let n: number;
      do {
        n = await relayDeadLetters(this.deps.db, ROWS_PER_PUBLISH, (rows) => this.publish(rows));
        this.published.inc({ outcome: 'ok' }, n);
      } while (n === ROWS_PER_PUBLISH && !this.closed);
    } catch (err) {
      this.published.inc({ outcome: 'error' });
      this.deps.logger.warn({ err: (err as Error).message }, 'dead letters not published yet; retrying on the next tick');
    }
  }

  private async publish(rows: StoredDeadLetter[]): Promise<void> {
    await this.deps.producer.send({
      topic: this.options.dlqTopic,
      acks: -1,
      messages: rows.map((d) => ({
        // The position names the dead letter: a consumer of the topic can drop a second copy by key.
        key: `${d.topic}/${d.partition}/${d.offset}`,
        value: d.payload,
        headers: {
          reason: d.reason,
          error: d.error.slice(0, 1000),
          'original-topic': d.topic,
          'original-partition': String(d.partition),
          'original-offset': String(d.offset),
        },
      })),
    });
  }

  isReady(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
