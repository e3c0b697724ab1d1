import { Kafka, logLevel } from 'kafkajs';
import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { Stage } from './harness/stage';
import { waitFor } from '../helpers/wait-for';

/** Scenarios 6 and 7: the broker itself fails under load. */
describe('broker faults', () => {
  it('the single broker restarted under load: 503 for what could not be handed over, every 202 stored once', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2000, batchSize: 20, maxEvents: 50_000 });
      await waitFor(() => ledger.accepted.size > 5000 || undefined, { what: 'load under way' });
      const broker = stage.kafka.brokers[0]!;
      await broker.kill('SIGKILL');
      // Ingest must refuse (503) while the broker is gone, not accept.
      await waitFor(() => (ledger.statuses.get('503') ?? 0) > 0 || undefined, { what: 'ingest to answer 503', timeoutMs: 30_000 });
      await broker.restart();
      const recovery = await stage.waitCaughtUp(180_000);
      await load.finished();
      await stage.drain();
      const result = await settleLedger('broker_restarted', ledger, stage.db, recovery);
      expect(ledger.statuses.get('503')).toBeGreaterThan(0);
      expect(result.lost).toBe(0);
      expect(result.duplicated).toBe(0);
    } catch (err) {
      process.stderr.write(stage.logs());
      throw err;
    } finally {
      await stage.stop();
    }
  });

  it('3-broker cluster: kill -9 the leader of the busiest partition under load', async () => {
    const stage = await Stage.create({ brokers: 3 });
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2000, batchSize: 20, maxEvents: 50_000 });
      await waitFor(() => ledger.accepted.size > 5000 || undefined, { what: 'load under way' });

      const admin = new Kafka({ brokers: stage.kafka.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(stage.topic);
      const busiest = offsets.reduce((a, b) => (Number(b.high) > Number(a.high) ? b : a));
      const metadata = await admin.fetchTopicMetadata({ topics: [stage.topic] });
      const leader = metadata.topics[0]!.partitions.find((p) => p.partitionId === busiest.partition)!.leader;
      await admin.disconnect();
      const victim = stage.kafka.brokers.find((b) => b.spec.nodeId === leader)!;
      await victim.kill('SIGKILL');
      const killedAt = Date.now();
      // Keep the load going on two brokers for a while, then bring the third back.
      await waitFor(() => (Date.now() - killedAt > 10_000 ? true : undefined), { what: 'load on the degraded cluster', timeoutMs: 15_000, intervalMs: 500 });
      await victim.restart();
      const recovery = await stage.waitCaughtUp(180_000);
      await load.finished();
      await stage.drain();
      const result = await settleLedger(`cluster_leader_kill_9 broker=${leader} partition=${busiest.partition}`, ledger, stage.db, recovery);
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
