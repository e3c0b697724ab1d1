import { randomUUID } from 'node:crypto';
import type { Ledger } from './ledger';

export interface LoadOptions {
  /** Ingest base URLs; requests go round-robin to those still alive. */
  targets: () => string[];
  eventsPerSecond: number;
  batchSize: number;
  /** Stop after this many events were sent (accepted or not), and not while held (see hold()). */
  maxEvents?: number;
  sites?: number;
}

/**
 * Steady load of known events through the real HTTP API. Every event carries a client-made event_id, so the
 * ledger can say afterwards exactly which events ingest promised to keep.
 */
export class LoadGenerator {
  private stopped = false;
  private sent = 0;
  private holds = 0;
  private ended = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly ledger: Ledger,
    private readonly options: LoadOptions,
  ) {
    this.done = this.run();
  }

  get eventsSent(): number {
    return this.sent;
  }

  /** True until the last request was answered: a fault that lands while this holds lands during traffic. */
  get running(): boolean {
    return !this.ended;
  }

  /**
   * Keeps the load going past maxEvents until release(): the scenario holds it while its fault runs, so no fault
   * (a kill in a loop, a restart that took long) can land after the traffic ended.
   */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds = Math.max(0, this.holds - 1);
  }

  /** Stops sending and waits for every request in flight to be answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** Resolves once the load has sent `maxEvents` (and all answers are in). */
  finished(): Promise<void> {
    return this.done;
  }

  private async run(): Promise<void> {
    const { eventsPerSecond, batchSize } = this.options;
    const intervalMs = (1000 * batchSize) / eventsPerSecond;
    const start = Date.now();
    const inFlight = new Set<Promise<void>>();
    for (let k = 0; !this.stopped; k++) {
      if (this.options.maxEvents !== undefined && this.sent >= this.options.maxEvents && this.holds === 0) break;
      // Pace by schedule (request k leaves at start + k·interval); concurrency is capped so a stalled
      // ingest cannot make us open thousands of sockets.
      const due = start + k * intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      while (inFlight.size >= 64) await Promise.race(inFlight);
      const p = this.sendBatch(k).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.allSettled([...inFlight]);
    this.ended = true;
  }

  private async sendBatch(k: number): Promise<void> {
    const targets = this.options.targets();
    const target = targets[k % Math.max(1, targets.length)];
    const sites = this.options.sites ?? 24;
    const events = Array.from({ length: this.options.batchSize }, (_, i) => ({
      event_id: randomUUID(),
      site_id: `fault-site-${(k * this.options.batchSize + i) % sites}`,
      event_type: i % 5 === 0 ? 'click' : 'page_view',
      path: `/page/${(k + i) % 50}`,
      user_id: `user-${(k * 7 + i) % 1000}`,
      timestamp: new Date().toISOString(),
    }));
    for (const e of events) this.ledger.sent(e);
    this.sent += events.length;
    if (!target) {
      for (const e of events) this.ledger.unacknowledged.add(e.event_id);
      this.ledger.note('no_target');
      return;
    }
    try {
      const res = await fetch(`${target}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as { results?: { index: number; status: string }[] };
      this.ledger.note(String(res.status));
      const accepted = new Set((body.results ?? []).filter((r) => r.status === 'accepted').map((r) => r.index));
      events.forEach((e, i) => (accepted.has(i) && (res.status === 202 || res.status === 207) ? this.ledger.accepted : this.ledger.unacknowledged).add(e.event_id));
    } catch {
      // No answer (process killed, connection reset): the event may or may not have reached Kafka.
      this.ledger.note('no_answer');
      for (const e of events) this.ledger.unacknowledged.add(e.event_id);
    }
  }
}
