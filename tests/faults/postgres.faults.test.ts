import { waitFor } from '../helpers/wait-for';
import { committedProgress, runFaultScenario } from './harness/scenario';

/**
 * Scenarios 4 and 5: PostgreSQL restarted, its backends terminated, and unavailable for 30 s under load.
 * Ingest keeps answering 202 (Kafka buffers); the consumer retries without skipping and drains afterwards.
 * Each scenario stops its own private PostgreSQL server (stage.postgres), never the machine's shared one.
 */
describe('PostgreSQL faults', () => {
  const load = { eventsPerSecond: 2000, batchSize: 20, maxEvents: 40_000 };

  it('backends terminated (pg_terminate_backend) three times mid-load', async () => {
    await runFaultScenario({ name: 'postgres_backends_terminated', load }, async ({ stage, inject }) => {
      let terminated = 0;
      for (let i = 0; i < 3; i++) {
        await committedProgress(stage);
        terminated += await inject(`terminate ${i + 1}`, () => stage.postgres.terminateConsumerBackends(stage.database.url));
      }
      expect(terminated).toBeGreaterThan(0);
      expect(stage.consumers.every((c) => c.alive)).toBe(true);
      return { detail: `x3 sessions=${terminated}` };
    });
  });

  it('server restarted mid-load', async () => {
    await runFaultScenario({ name: 'postgres_restarted', load }, async ({ stage, inject }) => {
      await committedProgress(stage);
      await inject('restart', () => stage.postgres.restart());
      const recoveryS = await stage.waitCaughtUp(180_000);
      expect(stage.consumers.every((c) => c.alive)).toBe(true);
      return { recoveryS };
    });
  });

  it('server killed with SIGKILL (a crash) three times mid-load: every acknowledged commit survives recovery', async () => {
    await runFaultScenario({ name: 'postgres_killed', load }, async ({ stage, inject }) => {
      let rolledBack = 0;
      for (let i = 0; i < 3; i++) {
        await committedProgress(stage);
        const before = await stage.positions();
        await inject(`kill -9 ${i + 1}`, async () => {
          await stage.postgres.kill();
          stage.postgres.start();
        });
        // A position read before the crash and lower after recovery is a commit the server acknowledged and lost
        // (what synchronous_commit = off allows): the consumer must then re-read those records, not skip them.
        const after = await waitFor(() => stage.positions(), { what: 'positions after recovery', timeoutMs: 60_000 });
        for (const [partition, offset] of before) if ((after.get(partition) ?? 0) < offset) rolledBack++;
      }
      const recoveryS = await stage.waitCaughtUp(180_000);
      expect(stage.consumers.every((c) => c.alive)).toBe(true);
      return { detail: `x3 positions_rolled_back=${rolledBack}`, recoveryS };
    });
  });

  it('server unavailable for 30 s: ingest keeps accepting, lag grows, then drains', async () => {
    const downS = Number(process.env.FAULTS_PG_DOWN_S ?? 30);
    await runFaultScenario({ name: `postgres_down_${downS}s`, load: { ...load, maxEvents: 90_000 } }, async ({ stage, ledger, inject }) => {
      await committedProgress(stage);
      // Positions cannot move while the server is down: the lag at the end of the outage is measured against them.
      const positionsAtStop = await stage.positions();
      const lagAtStop = lagAgainst(await stage.highWatermarks(), positionsAtStop);
      // Counted below: events sent after those high watermarks were read, so appended after them too. (Counting
      // the 202s that arrive after the stop instead also counts events appended before it whose answer came
      // late: seen on a loaded machine, 147 of them.)
      const sentAtStop = new Set(ledger.events.keys());
      await inject('stop', () => stage.postgres.stop());
      let acceptedDuringOutage = 0;
      let lagAtEnd = 0;
      try {
        const down = Date.now();
        await waitFor(() => (Date.now() - down >= downS * 1000 ? true : undefined), { what: 'the outage to last', timeoutMs: downS * 1000 + 5000, intervalMs: 500 });
        // While the database was down, ingest still answered 202: the events waited in Kafka.
        acceptedDuringOutage = [...ledger.accepted].filter((id) => !sentAtStop.has(id)).length;
        lagAtEnd = lagAgainst(await stage.highWatermarks(), positionsAtStop);
      } finally {
        stage.postgres.start();
      }
      const backlog = await stage.highWatermarks();
      const recoveryS = await stage.waitCaughtUp(180_000, backlog);
      expect(acceptedDuringOutage).toBeGreaterThan(0);
      // Lag grew by at least what was accepted meanwhile (every accepted event is on the topic)…
      expect(lagAtEnd - lagAtStop).toBeGreaterThanOrEqual(acceptedDuringOutage);
      // …and drained: everything on the topic at restart is in the database.
      expect(lagAgainst(backlog, await stage.positions())).toBe(0);
      expect(stage.consumers.every((c) => c.alive)).toBe(true);
      return { detail: `accepted_during_outage=${acceptedDuringOutage} lag_at_stop=${lagAtStop} lag_at_restart=${lagAtEnd}`, recoveryS };
    });
  });
});

function lagAgainst(high: Map<number, number>, positions: Map<number, number>): number {
  let lag = 0;
  for (const [partition, h] of high) lag += Math.max(0, h - (positions.get(partition) ?? 0));
  return lag;
}

