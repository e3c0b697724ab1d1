import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { postgres } from './harness/postgres-control';
import { Stage } from './harness/stage';
import { waitFor } from '../helpers/wait-for';

/**
 * Scenarios 4 and 5: PostgreSQL restarted, its backends terminated, and unavailable for 30 s under load.
 * Ingest keeps answering 202 (Kafka buffers); the consumer retries without skipping and drains afterwards.
 * These stop the machine's PostgreSQL server: nothing else may be using it meanwhile.
 */
describe('PostgreSQL faults', () => {
  const progress = async (stage: Stage) => {
    const before = await stage.positions();
    await waitFor(async () => [...(await stage.positions())].some(([p, o]) => o > (before.get(p) ?? 0)), { what: 'progress', timeoutMs: 60_000 });
  };

  it('backends terminated (pg_terminate_backend) three times mid-load', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2000, batchSize: 20, maxEvents: 40_000 });
      let terminated = 0;
      for (let i = 0; i < 3; i++) {
        await progress(stage);
        terminated += await postgres.terminateConsumerBackends(stage.database.url);
      }
      const recovery = await stage.waitCaughtUp();
      await load.finished();
      await stage.drain();
      const result = await settleLedger(`postgres_backends_terminated x3 sessions=${terminated}`, ledger, stage.db, recovery);
      expect(terminated).toBeGreaterThan(0);
      expect(stage.consumers.every((c) => c.alive)).toBe(true);
      expect(result.lost).toBe(0);
      expect(result.duplicated).toBe(0);
    } catch (err) {
      process.stderr.write(stage.logs());
      throw err;
    } finally {
      await stage.stop();
    }
  });

  it('server restarted mid-load', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2000, batchSize: 20, maxEvents: 40_000 });
      await progress(stage);
      postgres.restart();
      const recovery = await stage.waitCaughtUp();
      await load.finished();
      await stage.drain();
      const result = await settleLedger('postgres_restarted', ledger, stage.db, recovery);
      expect(stage.consumers.every((c) => c.alive)).toBe(true);
      expect(result.lost).toBe(0);
      expect(result.duplicated).toBe(0);
    } catch (err) {
      process.stderr.write(stage.logs());
      throw err;
    } finally {
      await stage.stop();
    }
  });

  it('server unavailable for 30 s: ingest keeps accepting, lag grows, then drains', async () => {
    const stage = await Stage.create({ brokers: 1 });
    let stopped = false;
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2000, batchSize: 20, maxEvents: 90_000 });
      await progress(stage);
      postgres.stop();
      stopped = true;
      const acceptedAtStop = ledger.accepted.size;
      const downFor = Number(process.env.FAULTS_PG_DOWN_S ?? 30) * 1000;
      const down = Date.now();
      // While the database is down, ingest still answers 202 (the events wait in Kafka).
      await waitFor(() => (Date.now() - down >= downFor ? true : undefined), { what: 'the outage to last', timeoutMs: downFor + 5000, intervalMs: 500 });
      const acceptedDuringOutage = ledger.accepted.size - acceptedAtStop;
      const backlog = await stage.highWatermarks();
      postgres.start();
      stopped = false;
      const recovery = await stage.waitCaughtUp(180_000, backlog);
      await load.finished();
      await stage.drain();
      const result = await settleLedger(`postgres_down_${downFor / 1000}s accepted_during_outage=${acceptedDuringOutage}`, ledger, stage.db, recovery);
      expect(acceptedDuringOutage).toBeGreaterThan(0);
      expect(stage.consumers.every((c) => c.alive)).toBe(true);
      expect(result.lost).toBe(0);
      expect(result.duplicated).toBe(0);
    } catch (err) {
      process.stderr.write(stage.logs());
      throw err;
    } finally {
      if (stopped) postgres.start();
      await stage.stop();
    }
  });
});
