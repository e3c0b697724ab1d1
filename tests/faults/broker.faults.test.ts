import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from '../helpers/wait-for';
import { acceptedAtLeast, runFaultScenario } from './harness/scenario';

/** Scenarios 6 and 7: the broker itself fails under load. */
describe('broker faults', () => {
  it('the single broker restarted under load: 503 for what could not be handed over, every 202 stored once', async () => {
    const result = await runFaultScenario(
      { name: 'broker_restarted', load: { eventsPerSecond: 2000, batchSize: 20, maxEvents: 50_000 } },
      async ({ stage, ledger, inject }) => {
        await acceptedAtLeast(ledger, 5000);
        const broker = stage.kafka.brokers[0]!;
        await inject('broker kill -9', () => broker.kill('SIGKILL'));
        // Ingest must refuse (503) while the broker is gone, not accept.
        await waitFor(() => (ledger.statuses.get('503') ?? 0) > 0 || undefined, { what: 'ingest to answer 503', timeoutMs: 30_000 });
        await broker.restart();
        // Recovery: ingest answers 202 again (only a 202/207 puts an id in `accepted`) for a steady stream.
        const acceptedAtRestart = ledger.accepted.size;
        await acceptedAtLeast(ledger, acceptedAtRestart + 2000, 120_000);
        return { detail: `accepted_after_restart>=${ledger.accepted.size - acceptedAtRestart}` };
      },
    );
    expect(result.line).toMatch(/"503":\d+/);
  });

  it('3-broker cluster: kill -9 the leader of the busiest partition under load', async () => {
    await runFaultScenario(
      { name: 'cluster_leader_kill_9', stage: { brokers: 3 }, load: { eventsPerSecond: 2000, batchSize: 20, maxEvents: 50_000 } },
      async ({ stage, ledger, inject }) => {
        await acceptedAtLeast(ledger, 5000);
        const admin = new Kafka({ brokers: stage.kafka.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        const offsets = await admin.fetchTopicOffsets(stage.topic);
        const busiest = offsets.reduce((a, b) => (Number(b.high) > Number(a.high) ? b : a));
        const metadata = await admin.fetchTopicMetadata({ topics: [stage.topic] });
        const leader = metadata.topics[0]!.partitions.find((p) => p.partitionId === busiest.partition)!.leader;
        await admin.disconnect();
        const victim = stage.kafka.brokers.find((b) => b.spec.nodeId === leader)!;
        await inject(`leader ${leader} kill -9`, () => victim.kill('SIGKILL'));
        // Keep the load going on two brokers for a while (10k more events), then bring the third back.
        await acceptedAtLeast(ledger, ledger.accepted.size + 10_000, 120_000);
        await victim.restart();
        return { detail: `broker=${leader} partition=${busiest.partition}` };
      },
    );
  });
});
