import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { Stage } from './harness/stage';
import { waitFor } from '../helpers/wait-for';

/**
 * Scenario 2: a consumer frozen (SIGSTOP) past its session timeout while a second member takes its
 * partitions, then resumed (SIGCONT). The zombie must not write: its stale batch finds the stored position
 * moved (or its transaction killed by idle_in_transaction_session_timeout) and is fenced.
 */
describe('zombie consumer', () => {
  it('a frozen-then-resumed member writes nothing twice and loses nothing', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      await stage.startIngest();
      const zombie = await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 2000, batchSize: 20, maxEvents: 60_000 });
      await waitFor(async () => (await stage.positions()).size > 0, { what: 'first commits' });

      // Make sure the zombie is frozen *inside* a write transaction with a batch in hand: hold the partition
      // rows locked from here until its transaction is queued behind us, then freeze it there.
      const lockHolder = new pg.Client({ connectionString: stage.database.url });
      await lockHolder.connect();
      await lockHolder.query('BEGIN');
      await lockHolder.query('SELECT * FROM analytics.consumer_offsets WHERE consumer_group = $1 FOR UPDATE', [stage.env.KAFKA_CONSUMER_GROUP]);
      await waitFor(
        async () => {
          const r = await lockHolder.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sitestream-consumer' AND wait_event_type = 'Lock'`,
          );
          return r.rows[0].n > 0;
        },
        { what: 'the consumer to wait on the partition lock mid-transaction' },
      );
      await stage.signal(zombie, 'SIGSTOP');
      const frozenAt = Date.now();
      const survivor = await stage.startConsumer();
      // The group must notice the zombie is gone and give everything to the survivor.
      const admin = new Kafka({ brokers: stage.kafka.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await waitFor(
        async () => {
          const { groups } = await admin.describeGroups([stage.env.KAFKA_CONSUMER_GROUP!]);
          return groups[0]?.state === 'Stable' && groups[0].members.length === 1;
        },
        { what: 'the group to drop the frozen member', timeoutMs: 60_000, intervalMs: 250 },
      );
      await admin.disconnect();
      // Release the rows: the frozen zombie's backend gets the lock first and then sits idle in its
      // transaction until idle_in_transaction_session_timeout ends it; the survivor takes over after that.
      await lockHolder.query('COMMIT');
      await lockHolder.end();
      // Let the survivor write a while past the zombie's stale position, then wake the zombie.
      const before = await stage.positions();
      await waitFor(async () => [...(await stage.positions())].some(([p, o]) => o > (before.get(p) ?? 0)), { what: 'survivor progress' });
      await stage.signal(zombie, 'SIGCONT');
      const recovery = await stage.waitCaughtUp();
      await load.finished();
      await stage.drain();
      // What the zombie did after waking: stale batches it dropped (fenced) or records it found already stored.
      const metrics = await (await fetch(`${zombie.url}/metrics`)).text().catch(() => '');
      const fenced = /sitestream_consumer_batches_total\{outcome="fenced"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? '0';
      const replayed = /sitestream_consumer_replayed_records_total(?:\{[^}]*\})? (\d+)/.exec(metrics)?.[1] ?? '0';
      const retries = /sitestream_consumer_transient_retries_total(?:\{[^}]*\})? (\d+)/.exec(metrics)?.[1] ?? '0';
      const result = await settleLedger(
        `zombie_sigstop_sigcont frozen_s=${((Date.now() - frozenAt) / 1000).toFixed(0)} zombie_fenced_batches=${fenced} zombie_replayed_records=${replayed} zombie_retries=${retries}`,
        ledger,
        stage.db,
        recovery,
      );
      expect(survivor.alive).toBe(true);
      // The zombie really came back with a stale batch and was turned away by the database.
      expect(Number(fenced) + Number(replayed)).toBeGreaterThan(0);
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
