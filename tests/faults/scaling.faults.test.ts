import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { Stage } from './harness/stage';
import { waitFor } from '../helpers/wait-for';

/** Scenario 3: consumers scaled 1 → 3 → 1 under load: the totals do not change. */
describe('scaling the consumer group', () => {
  it('1 → 3 → 1 members under load: lost=0 duplicated=0', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2000, batchSize: 20, maxEvents: 50_000 });
      const progress = async () => {
        const before = await stage.positions();
        await waitFor(async () => [...(await stage.positions())].some(([p, o]) => o > (before.get(p) ?? 0)), { what: 'progress' });
      };
      await progress();
      const extra = [await stage.startConsumer(), await stage.startConsumer()];
      await progress();
      // Scale back down: one clean stop, one crash.
      await stage.signal(extra[0]!, 'SIGTERM');
      await stage.signal(extra[1]!, 'SIGKILL');
      const recovery = await stage.waitCaughtUp();
      await load.finished();
      await stage.drain();
      expect(await extra[0]!.exited).toBe(0);
      const result = await settleLedger('consumers_scaled_1_3_1', ledger, stage.db, recovery);
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
