import { committedProgress, runFaultScenario } from './harness/scenario';

/** Scenario 3: consumers scaled 1 → 3 → 1 under load: the totals do not change. */
describe('scaling the consumer group', () => {
  it('1 → 3 → 1 members under load: lost=0 duplicated=0', async () => {
    await runFaultScenario(
      { name: 'consumers_scaled_1_3_1', load: { eventsPerSecond: 2000, batchSize: 20, maxEvents: 50_000 } },
      async ({ stage, inject }) => {
        await committedProgress(stage);
        const extra = await inject('scale up to 3', async () => [await stage.startConsumer(), await stage.startConsumer()]);
        await committedProgress(stage);
        // Scale back down: one clean stop, one crash.
        await inject('SIGTERM one', () => stage.signal(extra[0]!, 'SIGTERM'));
        await inject('kill -9 one', () => stage.signal(extra[1]!, 'SIGKILL'));
        expect(await extra[0]!.exited).toBe(0);
      },
    );
  });
});
