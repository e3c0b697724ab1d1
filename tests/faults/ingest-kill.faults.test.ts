import { acceptedAtLeast, runFaultScenario } from './harness/scenario';

/** Scenario 8: kill -9 one of two ingest processes under load: every 202 it gave is stored. */
describe('ingest killed with SIGKILL', () => {
  it('every event answered 202 before the kill is stored exactly once', async () => {
    await runFaultScenario(
      { name: 'ingest_kill_9', ingests: 2, load: { eventsPerSecond: 3000, batchSize: 20, maxEvents: 40_000 } },
      async ({ stage, ledger, inject }) => {
        await acceptedAtLeast(ledger, 5000);
        await inject('ingest kill -9', () => stage.signal(stage.ingests[0]!, 'SIGKILL'));
      },
    );
  });
});
