import { waitFor } from '../../helpers/wait-for';
import { Ledger, settleLedger, type LedgerResult } from './ledger';
import { LoadGenerator, type LoadOptions } from './load';
import { Stage, type StageOptions } from './stage';

export interface ScenarioContext {
  stage: Stage;
  ledger: Ledger;
  load: LoadGenerator;
  /**
   * Injects one fault (a kill, a restart, a stop…) and records it. Fails if the load already ended: every fault
   * must land during traffic. The load is held running until the scenario's fault function returned.
   */
  inject<T>(what: string, action: () => Promise<T> | T): Promise<T>;
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

/** Events the load must still send after the last fault, so recovery happens under traffic. */
const TRAFFIC_AFTER_FAULT = 1000;

/**
 * The shape every fault scenario shares: its own stage, services started, a steady load with a ledger, the
 * fault (during traffic, asserted), recovery measured, the load finished, everything drained, the ledger
 * settled against PostgreSQL and /stats, and required to show nothing lost, doubled or made up, with exact
 * rollups. On failure the services' and PostgreSQL's logs are printed.
 */
export async function runFaultScenario(spec: ScenarioSpec, fault: (ctx: ScenarioContext) => Promise<FaultOutcome | void>): Promise<LedgerResult> {
  const stage = await Stage.create(spec.stage ?? { brokers: 1 });
  try {
    for (let i = 0; i < (spec.ingests ?? 1); i++) await stage.startIngest();
    for (let i = 0; i < (spec.consumers ?? 1); i++) await stage.startConsumer();
    const ledger = new Ledger();
    const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, ...spec.load });
    load.hold();
    const faults: { what: string; sentBefore: number }[] = [];
    const inject = async <T>(what: string, action: () => Promise<T> | T): Promise<T> => {
      if (!load.running) throw new Error(`fault "${what}" would land after the load ended`);
      faults.push({ what, sentBefore: load.eventsSent });
      return action();
    };
    let outcome: FaultOutcome;
    try {
      outcome = (await fault({ stage, ledger, load, inject })) ?? {};
      const sentAtEnd = load.eventsSent;
      await waitFor(() => load.eventsSent >= sentAtEnd + TRAFFIC_AFTER_FAULT || !load.running || undefined, { what: 'traffic after the fault', timeoutMs: 60_000 });
    } finally {
      load.release();
    }
    const recoveryS = outcome.recoveryS ?? (await stage.waitCaughtUp(180_000));
    await load.finished();
    // Every fault landed while events were still being sent, and more were sent after it.
    expect(faults.length).toBeGreaterThan(0);
    for (const f of faults) expect({ fault: f.what, trafficAfter: load.eventsSent > f.sentBefore }).toEqual({ fault: f.what, trafficAfter: true });
    await stage.drain();
    const name = outcome.detail ? `${spec.name} ${outcome.detail}` : spec.name;
    const result = await settleLedger(name, ledger, stage.db, { stats: await stage.stats(), recoveryS });
    expectClean(result);
    return result;
  } catch (err) {
    process.stderr.write(stage.logs());
    throw err;
  } finally {
    await stage.stop();
  }
}

/** The verdict every scenario must reach. */
export function expectClean(result: LedgerResult): void {
  expect({ lost: result.lost, duplicated: result.duplicated, phantom: result.phantom, deadLetteredEvents: result.deadLetteredEvents }).toEqual({
    lost: 0,
    duplicated: 0,
    phantom: 0,
    deadLetteredEvents: 0,
  });
  expect(result.rollups.differences).toEqual([]);
  expect(result.rollups.siteDays).toBeGreaterThan(0);
}

/** Resolves once the database position of some partition moved past where it is now. */
export async function committedProgress(stage: Stage, timeoutMs = 60_000): Promise<void> {
  const before = await stage.positions();
  await waitFor(async () => [...(await stage.positions())].some(([p, o]) => o > (before.get(p) ?? 0)), { what: 'committed progress', timeoutMs });
}

/** Resolves once the ledger holds this many accepted events. */
export async function acceptedAtLeast(ledger: Ledger, n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(() => ledger.accepted.size >= n || undefined, { what: `${n} accepted events`, timeoutMs });
}
