import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { Stage } from './harness/stage';
import { waitFor } from '../helpers/wait-for';

/**
 * Scenario 1: kill -9 the consumer repeatedly during ≥50k events, three runs in a row. Nothing the ingest
 * answered 202 for may be lost or stored twice.
 */
describe('consumer killed with SIGKILL in a loop', () => {
  const runs = Number(process.env.FAULTS_KILL_RUNS ?? 3);
  const events = Number(process.env.FAULTS_KILL_EVENTS ?? 50_000);

  for (let run = 1; run <= runs; run++) {
    it(`run ${run}: lost=0 duplicated=0 after ≥5 kills`, async () => {
      const stage = await Stage.create({ brokers: 1 });
      try {
        await stage.startIngest();
        let consumer = await stage.startConsumer();
        const ledger = new Ledger();
        const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2500, batchSize: 25, maxEvents: events });
        let kills = 0;
        while (load.eventsSent < events || kills < 5) {
          // Kill once some new rows have been committed since the last restart, so each kill lands mid-stream.
          const before = await stage.positions();
          await waitFor(async () => {
            const now = await stage.positions();
            return [...now].some(([p, o]) => o > (before.get(p) ?? 0)) || load.eventsSent >= events;
          }, { what: 'progress before the next kill' });
          await stage.signal(consumer, 'SIGKILL');
          kills++;
          consumer = await stage.startConsumer();
        }
        // Recovery: from the last restart until everything on the topic at that moment is stored.
        const recovery = await stage.waitCaughtUp();
        await load.finished();
        await stage.drain();
        const result = await settleLedger(`consumer_kill_9_run${run} kills=${kills}`, ledger, stage.db, recovery);
        expect(kills).toBeGreaterThanOrEqual(5);
        expect(ledger.accepted.size).toBeGreaterThanOrEqual(events * 0.95);
        expect(result.lost).toBe(0);
        expect(result.duplicated).toBe(0);
      } catch (err) {
        process.stderr.write(stage.logs());
        throw err;
      } finally {
        await stage.stop();
      }
    });
  }
});
