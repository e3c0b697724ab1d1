import { waitFor } from '../../helpers/wait-for';
import { Ledger, settleLedger, type LedgerResult } from './ledger';
import { LoadGenerator, type LoadOptions } from './load';
import { Stage, type StageOptions } from './stage';

export interface ScenarioContext {
  stage: Stage;
  ledger: Ledger;
  load: LoadGenerator;
}

export interface ScenarioSpec {
  name: string;
  stage?: StageOptions;
  ingests?: number;
  consumers?: number;
  load: Omit<LoadOptions, 'targets'>;
}

export interface FaultOutcome {
  /** Appended to the scenario's name in the ledger line (what was done, how often). */
  detail?: string;
  /** Seconds to recover, when the fault measured it itself; otherwise measured after it returns. */
  recoveryS?: number;
}

/**
 * The shape every fault scenario shares: its own stage, services started, a steady load with a ledger,
 * the fault, recovery measured, the load finished, everything drained, the ledger settled against
 * PostgreSQL and required to show nothing lost and nothing doubled. On failure the services' logs are printed.
 */
export async function runFaultScenario(spec: ScenarioSpec, fault: (ctx: ScenarioContext) => Promise<FaultOutcome | void>): Promise<LedgerResult> {
  const stage = await Stage.create(spec.stage ?? { brokers: 1 });
  try {
    for (let i = 0; i < (spec.ingests ?? 1); i++) await stage.startIngest();
    for (let i = 0; i < (spec.consumers ?? 1); i++) await stage.startConsumer();
    const ledger = new Ledger();
    const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, ...spec.load });
    const outcome = (await fault({ stage, ledger, load })) ?? {};
    const recoveryS = outcome.recoveryS ?? (await stage.waitCaughtUp(180_000));
    await load.finished();
    await stage.drain();
    const result = await settleLedger(outcome.detail ? `${spec.name} ${outcome.detail}` : spec.name, ledger, stage.db, recoveryS);
    expect(result.lost).toBe(0);
    expect(result.duplicated).toBe(0);
    return result;
  } catch (err) {
    process.stderr.write(stage.logs());
    throw err;
  } finally {
    await stage.stop();
  }
}

/** Resolves once the database position of some partition moved past where it is now. */
export async function committedProgress(stage: Stage, timeoutMs = 60_000): Promise<void> {
  const before = await stage.positions();
  await waitFor(async () => [...(await stage.positions())].some(([p, o]) => o > (before.get(p) ?? 0)), { what: 'committed progress', timeoutMs });
}

/** Resolves once the ledger holds this many accepted events. */
export async function acceptedAtLeast(ledger: Ledger, n: number): Promise<void> {
  await waitFor(() => ledger.accepted.size >= n || undefined, { what: `${n} accepted events` });
}
