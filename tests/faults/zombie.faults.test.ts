import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { waitFor } from '../helpers/wait-for';
import { committedProgress, runFaultScenario } from './harness/scenario';

/**
 * Scenario 2: a consumer frozen (SIGSTOP) inside its write transaction, past its session timeout, while a
 * second member takes its partitions; then resumed (SIGCONT). The zombie must not write: its transaction is
 * ended by idle_in_transaction_session_timeout, and its retry finds the stored position moved on.
 */
describe('zombie consumer', () => {
  it('a frozen-then-resumed member writes nothing twice and loses nothing', async () => {
    let zombieMetrics = '';
    await runFaultScenario(
      { name: 'zombie_sigstop_sigcont', load: { eventsPerSecond: 2000, batchSize: 20, maxEvents: 60_000 } },
      async ({ stage }) => {
        const zombie = stage.consumers[0]!;
        await committedProgress(stage);
        // Freeze the zombie *inside* a write transaction with a batch in hand: hold the partition rows locked
        // until its transaction queues behind us, then stop it there.
        const lockHolder = new pg.Client({ connectionString: stage.database.url });
        await lockHolder.connect();
        await lockHolder.query('BEGIN');
        await lockHolder.query('SELECT * FROM analytics.consumer_offsets WHERE consumer_group = $1 FOR UPDATE', [stage.env.KAFKA_CONSUMER_GROUP]);
        await waitFor(
          async () => {
            const r = await lockHolder.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = 'sitestream-consumer' AND wait_event_type = 'Lock'`,
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
        // Release the rows: the frozen zombie's backend gets the lock first, then sits idle in its transaction
        // until idle_in_transaction_session_timeout ends it; the survivor takes over after that.
        await lockHolder.query('COMMIT');
        await lockHolder.end();
        await committedProgress(stage);
        await stage.signal(zombie, 'SIGCONT');
        const recoveryS = await stage.waitCaughtUp();
        expect(survivor.alive).toBe(true);
        zombieMetrics = await (await fetch(`${zombie.url}/metrics`)).text();
        const fenced = /sitestream_consumer_batches_total\{outcome="fenced"[^}]*\} (\d+)/.exec(zombieMetrics)?.[1] ?? '0';
        const replayed = /sitestream_consumer_replayed_records_total(?:\{[^}]*\})? (\d+)/.exec(zombieMetrics)?.[1] ?? '0';
        const retries = /sitestream_consumer_transient_retries_total(?:\{[^}]*\})? (\d+)/.exec(zombieMetrics)?.[1] ?? '0';
        // The zombie really came back with a stale batch and was turned away by the database.
        expect(Number(fenced) + Number(replayed)).toBeGreaterThan(0);
        return {
          detail: `frozen_s=${((Date.now() - frozenAt) / 1000).toFixed(0)} zombie_fenced_batches=${fenced} zombie_replayed_records=${replayed} zombie_retries=${retries}`,
          recoveryS,
        };
      },
    );
    expect(zombieMetrics).toContain('sitestream_consumer_batches_total');
  });
});
