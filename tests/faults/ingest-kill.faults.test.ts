import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { Stage } from './harness/stage';
import { waitFor } from '../helpers/wait-for';

/** Scenario 8: kill -9 an ingest process under load: every 202 it gave is stored. */
describe('ingest killed with SIGKILL', () => {
  it('every event answered 202 before the kill is stored exactly once', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      const victim = await stage.startIngest();
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 3000, batchSize: 20, maxEvents: 40_000 });
      await waitFor(() => ledger.accepted.size > 5000 || undefined, { what: 'load under way' });
      await stage.signal(victim, 'SIGKILL');
      const recovery = await stage.waitCaughtUp();
      await load.finished();
      await stage.drain();
      const result = await settleLedger('ingest_kill_9', ledger, stage.db, recovery);
      expect(result.lost).toBe(0);
      expect(result.duplicated).toBe(0);
    } catch (err) {
      process.stderr.write(stage.logs());
      throw err;
    } finally {
      await stage.stop();
    }
  });
});
