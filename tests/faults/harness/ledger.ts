import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Knex } from '@sitestream/db';
import { checkRollups, type RollupVerdict } from './rollup-check';
import type { StatsClient } from './stage';

/** An event as the client made it: what the ledger compares the database with. */
export interface LedgerEvent {
  event_id: string;
  site_id: string;
  event_type: string;
  path: string;
  user_id: string;
  timestamp: string;
}

/**
 * The client-side record of what ingest promised: every event sent (with its content), the event_ids answered
 * 202 (`accepted`) and those that got anything else (503, a dropped connection: `unacknowledged`, which may or may
 * not be stored). An id can be both (a retry was accepted after a no-answer): then it counts as accepted.
 */
export class Ledger {
  readonly events = new Map<string, LedgerEvent>();
  readonly accepted = new Set<string>();
  readonly unacknowledged = new Set<string>();
  /** Raw values put on the topic directly (bypassing HTTP): each one must be dead-lettered. */
  readonly poison: Buffer[] = [];
  statuses = new Map<string, number>();

  sent(event: LedgerEvent): void {
    this.events.set(event.event_id, event);
  }

  note(status: string): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  /** Ids ingest may have handed to Kafka: anything else in the database is a phantom. */
  mayExist(id: string): boolean {
    return this.accepted.has(id) || this.unacknowledged.has(id);
  }
}

export interface LedgerResult {
  scenario: string;
  /** Events answered 202, plus the poison records produced into the topic. */
  accepted: number;
  /** Accepted events stored in analytics.website_events. */
  stored: number;
  deadLettered: number;
  /** Dead letters that carry the id of an event the ledger sent (valid events: should be none). */
  deadLetteredEvents: number;
  /** Accepted ids neither stored nor dead-lettered by id, plus poison records not dead-lettered. */
  lost: number;
  /** Rows beyond the first per event_id, plus ids both stored and dead-lettered. */
  duplicated: number;
  /** Rows whose event_id the client never sent, plus dead letters that are neither a sent event nor produced poison. */
  phantom: number;
  rollups: RollupVerdict;
  recoveryS: number;
  unacknowledgedStored: number;
  line: string;
}

export interface SettleOptions {
  /** Where /stats answers; rollups are compared through it. */
  stats: StatsClient;
  recoveryS: number;
  /** False for the self-test's deliberately broken runs: their lines are not verdicts on the pipeline. */
  record?: boolean;
}

const OUT = resolve(__dirname, '..', '..', '..', '.data', 'faults', 'ledger.txt');

/** The event_id a dead letter's payload (the raw Kafka value) carries, when it can be read. */
export function deadLetterEventId(payload: Buffer | null): string | undefined {
  if (!payload || payload.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    const id = value && typeof value === 'object' ? (value as { event_id?: unknown }).event_id : undefined;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compares the ledger with PostgreSQL after draining, as sets of ids: every stored or dead-lettered record must be
 * one the client sent, every accepted id must be stored or dead-lettered by id, each exactly once; then the
 * rollups against a model computed from the ledger's own events. Prints the one-line verdict and keeps it.
 */
export async function settleLedger(scenario: string, ledger: Ledger, db: Knex, options: SettleOptions): Promise<LedgerResult> {
  const rows = await db.raw<{ rows: { event_id: string; n: number }[] }>(
    'SELECT event_id::text AS event_id, count(*)::int AS n FROM analytics.website_events GROUP BY event_id',
  );
  const stored = new Map(rows.rows.map((r) => [r.event_id, r.n]));
  const deadRows = (await db('analytics.dead_letters').select<{ payload: Buffer | null }[]>('payload')).map((r) => r.payload);

  let duplicated = 0;
  let phantom = 0;
  for (const [id, n] of stored) {
    duplicated += n - 1;
    if (!ledger.mayExist(id)) phantom += n;
  }

  // Dead letters: each is a produced poison record (matched by its bytes) or names a sent event by its id.
  const poisonLeft = new Map<string, number>();
  for (const p of ledger.poison) poisonLeft.set(p.toString('hex'), (poisonLeft.get(p.toString('hex')) ?? 0) + 1);
  const deadIds = new Map<string, number>();
  for (const payload of deadRows) {
    const hex = payload?.toString('hex') ?? '';
    const id = deadLetterEventId(payload);
    if ((poisonLeft.get(hex) ?? 0) > 0) poisonLeft.set(hex, poisonLeft.get(hex)! - 1);
    else if (id !== undefined && ledger.mayExist(id)) deadIds.set(id, (deadIds.get(id) ?? 0) + 1);
    else phantom++;
  }
  for (const [id, n] of deadIds) duplicated += n - 1 + (stored.has(id) ? 1 : 0);

  let storedAccepted = 0;
  let lost = 0;
  for (const id of ledger.accepted) {
    if (stored.has(id)) storedAccepted++;
    else if (!deadIds.has(id)) lost++;
  }
  for (const n of poisonLeft.values()) lost += n;
  let unacknowledgedStored = 0;
  for (const id of ledger.unacknowledged) if (stored.has(id) && !ledger.accepted.has(id)) unacknowledgedStored++;

  // The model counts what the client sent, for exactly the ids the database holds (phantoms have no content here).
  const storedEvents = [...stored.keys()].map((id) => ledger.events.get(id)).filter((e): e is LedgerEvent => e !== undefined);
  const rollups = await checkRollups(storedEvents, db, options.stats);

  const result = {
    scenario,
    accepted: ledger.accepted.size + ledger.poison.length,
    stored: storedAccepted,
    deadLettered: deadRows.length,
    deadLetteredEvents: [...deadIds.values()].reduce((a, b) => a + b, 0),
    lost,
    duplicated,
    phantom,
    rollups,
    recoveryS: options.recoveryS,
    unacknowledgedStored,
  };
  const line =
    `${scenario} accepted=${result.accepted} stored=${result.stored} dead_lettered=${result.deadLettered} ` +
    `lost=${lost} duplicated=${duplicated} phantom=${phantom} rollups=${rollups.exact ? 'exact' : 'MISMATCH'} recovery_s=${options.recoveryS.toFixed(1)}` +
    ` (dead_lettered_events=${result.deadLetteredEvents} unacknowledged_stored=${unacknowledgedStored} site_days=${rollups.siteDays} answers=${JSON.stringify(Object.fromEntries(ledger.statuses))})`;
  process.stdout.write(`\n${line}\n${rollups.exact ? '' : `rollup differences:\n  ${rollups.differences.slice(0, 20).join('\n  ')}\n`}`);
  if (options.record !== false) {
    mkdirSync(dirname(OUT), { recursive: true });
    appendFileSync(OUT, `${new Date().toISOString()} ${line}\n`);
  }
  return { ...result, line };
}
