import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Knex } from '@sitestream/db';

/**
 * The client-side record of what ingest promised: every event_id answered 202 is `accepted`; events that
 * got anything else (503, a dropped connection) are `unacknowledged` — they may or may not be stored.
 */
export class Ledger {
  readonly accepted = new Set<string>();
  readonly unacknowledged = new Set<string>();
  /** Records put on the topic directly (bypassing HTTP) that must be dead-lettered. */
  poisonProduced = 0;
  statuses = new Map<string, number>();

  note(status: string): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }
}

export interface LedgerResult {
  scenario: string;
  accepted: number;
  stored: number;
  deadLettered: number;
  lost: number;
  duplicated: number;
  recoveryS: number;
  unacknowledgedStored: number;
  line: string;
}

const OUT = resolve(__dirname, '..', '..', '..', '.data', 'faults', 'ledger.txt');

/** Compares the ledger with PostgreSQL after draining, prints the one-line verdict and keeps it. */
export async function settleLedger(scenario: string, ledger: Ledger, db: Knex, recoveryS: number): Promise<LedgerResult> {
  const rows = await db.raw<{ rows: { event_id: string; n: number }[] }>(
    'SELECT event_id::text AS event_id, count(*)::int AS n FROM analytics.website_events GROUP BY event_id',
  );
  const stored = new Map(rows.rows.map((r) => [r.event_id, r.n]));
  let storedAccepted = 0;
  for (const id of ledger.accepted) if (stored.has(id)) storedAccepted++;
  let unacknowledgedStored = 0;
  for (const id of ledger.unacknowledged) if (stored.has(id) && !ledger.accepted.has(id)) unacknowledgedStored++;
  const duplicated = rows.rows.reduce((sum, r) => sum + (r.n - 1), 0);
  const dead = Number((await db('analytics.dead_letters').count<{ n: number }[]>({ n: '*' }))[0]!.n);
  const accepted = ledger.accepted.size + ledger.poisonProduced;
  const result = {
    scenario,
    accepted,
    stored: storedAccepted,
    deadLettered: dead,
    lost: accepted - storedAccepted - dead,
    duplicated,
    recoveryS,
    unacknowledgedStored,
  };
  const line =
    `${scenario} accepted=${result.accepted} stored=${result.stored} dead_lettered=${result.deadLettered} ` +
    `lost=${result.lost} duplicated=${result.duplicated} recovery_s=${recoveryS.toFixed(1)}` +
    ` (unacknowledged_stored=${unacknowledgedStored} answers=${JSON.stringify(Object.fromEntries(ledger.statuses))})`;
  process.stdout.write(`\n${line}\n`);
  mkdirSync(dirname(OUT), { recursive: true });
  appendFileSync(OUT, `${new Date().toISOString()} ${line}\n`);
  return { ...result, line };
}
