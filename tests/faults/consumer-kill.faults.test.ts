import { committedProgress, runFaultScenario } from './harness/scenario';

/**
 * Scenario 1: kill -9 the consumer repeatedly during ≥50k events, three runs in a row. Nothing the ingest
 * answered 202 for may be lost or stored twice.
 */
describe('consumer killed with SIGKILL in a loop', () => {
  const runs = Number(process.env.FAULTS_KILL_RUNS ?? 3);
  const events = Number(process.env.FAULTS_KILL_EVENTS ?? 50_000);

  for (let run = 1; run <= runs; run++) {
    it(`run ${run}: lost=0 duplicated=0 after ≥5 kills`, async () => {
      const result = await runFaultScenario(
        { name: `consumer_kill_9_run${run}`, load: { eventsPerSecond: 2500, batchSize: 25, maxEvents: events } },
        async ({ stage, load, inject }) => {
          let kills = 0;
          // The load is held running until this returns: every kill lands during traffic (inject asserts it).
          while (load.eventsSent < events || kills < 5) {
            // Kill once new rows were committed since the last restart, so each kill lands mid-stream.
            await committedProgress(stage);
            await inject(`kill ${kills + 1}`, () => stage.signal(stage.consumers.at(-1)!, 'SIGKILL'));
            kills++;
            await stage.startConsumer();
          }
          return { detail: `kills=${kills}` };
        },
      );
      expect(result.accepted).toBeGreaterThanOrEqual(events * 0.95);
    });
  }
});
