import { acceptedAtLeast, runFaultScenario } from './harness/scenario';

/**
 * A second clone, or a removed .data/kafka, against the same database: a new Kafka cluster whose topic starts at
 * offset 0 again while PostgreSQL still holds the old topic's positions. The consumer must see that those positions
 * belong to another log and read the new topic from its start; events sent again with the ids of events the old
 * cluster delivered must not be stored twice.
 */
describe('a new Kafka cluster against the same database', () => {
  it('reads the new topic from its start: every 202 stored once, re-sent ids stored once', async () => {
    const WARNING = 'stored position belongs to another log';
    let resets = -1;
    let warnings = -1;
    const result = await runFaultScenario(
      { name: 'new_cluster', load: { eventsPerSecond: 1500, batchSize: 15, maxEvents: 15_000 } },
      async ({ stage, ledger, inject }) => {
        await acceptedAtLeast(ledger, 5000);
        const clusters = await inject('a fresh Kafka cluster (new data folder) against the same database', async () => {
          const ids = await stage.replaceKafka();
          await stage.startConsumer();
          await stage.startIngest();
          return ids;
        });
        expect(clusters.after).not.toBe(clusters.before);
        const acceptedAtSwitch = ledger.accepted.size;
        // Ids the old cluster delivered, sent again through the new one: already stored, so skipped, not doubled.
        const again = [...ledger.accepted].slice(0, 300).map((id) => ledger.events.get(id)!);
        for (let i = 0; i < again.length; i += 100) {
          const res = await fetch(`${stage.ingestUrls()[0]!}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ events: again.slice(i, i + 100) }),
          });
          ledger.note(`resent_${res.status}`);
          expect(res.status).toBe(202);
        }
        // New events through the new cluster, more than the old positions per partition.
        await acceptedAtLeast(ledger, acceptedAtSwitch + 4000, 120_000);
        await stage.waitCaughtUp(120_000);
        const consumer = stage.consumers.at(-1)!;
        const metrics = await (await fetch(`${consumer.url}/metrics`)).text();
        resets = [...metrics.matchAll(/^sitestream_consumer_positions_reset_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
        // One warning line per partition, in the consumer's structured log (written before its first batch).
        warnings = consumer.output().split('\n').filter((l) => l.includes(WARNING)).length;
        return { detail: `clusters=2 resets=${resets} resent=${again.length}` };
      },
    );
    expect({ resets, warnings }).toEqual({ resets: 6, warnings: 6 });
    expect(result.stored).toBeGreaterThan(9000);
  });
});
