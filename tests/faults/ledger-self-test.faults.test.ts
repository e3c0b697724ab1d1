import { Ledger, settleLedger, type LedgerResult } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { expectClean } from './harness/scenario';
import { Stage } from './harness/stage';

/**
 * A test of the test: the ledger must catch what it claims to catch. A small honest run is settled once (clean),
 * then the database is tampered with from outside, the way a broken writer would leave it — a phantom row under a
 * new id, a lost row, a double-counted rollup, a valid event dead-lettered, a dead letter nobody sent — and each
 * time the verdict must fail, for that reason only. Every tamper is undone before the next one.
 */
describe('the fault ledger (self-test)', () => {
  let stage: Stage;
  let ledger: Ledger;
  let settle: (name: string) => Promise<LedgerResult>;

  beforeAll(async () => {
    stage = await Stage.create({ brokers: 1, partitions: 3 });
    await stage.startIngest();
    await stage.startConsumer();
    ledger = new Ledger();
    await new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 1000, batchSize: 10, maxEvents: 2000, sites: 4 }).finished();
    await stage.drain();
    const stats = await stage.stats();
    settle = (name) => settleLedger(`ledger_self_test_${name}`, ledger, stage.db, { stats, recoveryS: 0, record: false });
  }, 300_000);

  afterAll(async () => {
    await stage?.stop();
  });

  const sql = (text: string, bindings: unknown[] = []) => stage.db.raw(text, bindings as never);
  const failsOnlyOn = (r: LedgerResult, figures: Partial<Record<'lost' | 'duplicated' | 'phantom' | 'deadLetteredEvents', number>> & { rollupsExact: boolean }) => {
    expect({ lost: r.lost, duplicated: r.duplicated, phantom: r.phantom, deadLetteredEvents: r.deadLetteredEvents, rollupsExact: r.rollups.exact }).toEqual({
      lost: 0,
      duplicated: 0,
      phantom: 0,
      deadLetteredEvents: 0,
      ...figures,
    });
    expect(() => expectClean(r)).toThrow();
  };

  it('passes the honest run', async () => {
    const r = await settle('clean');
    expectClean(r);
    expect(r.accepted).toBe(2000);
    expect(r.stored).toBe(2000);
  });

  it('catches a phantom: a stored row copied under a new event_id (the one duplicate the unique index allows)', async () => {
    const { rows } = await sql(
      `INSERT INTO analytics.website_events (site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset)
       SELECT site_id, event_type, path, user_id, "timestamp", gen_random_uuid(), received_at, kafka_partition, kafka_offset
       FROM analytics.website_events ORDER BY id LIMIT 1 RETURNING id`,
    );
    try {
      failsOnlyOn(await settle('phantom'), { phantom: 1, rollupsExact: true });
    } finally {
      await sql('DELETE FROM analytics.website_events WHERE id = ?', [rows[0].id]);
    }
  });

  it('catches a loss: an accepted event whose row is gone (its rollups still count it)', async () => {
    await sql('CREATE TABLE analytics.self_test_held AS SELECT * FROM analytics.website_events ORDER BY id LIMIT 1');
    await sql('DELETE FROM analytics.website_events WHERE id IN (SELECT id FROM analytics.self_test_held)');
    try {
      failsOnlyOn(await settle('lost'), { lost: 1, rollupsExact: false });
    } finally {
      await sql('INSERT INTO analytics.website_events OVERRIDING SYSTEM VALUE SELECT * FROM analytics.self_test_held');
      await sql('DROP TABLE analytics.self_test_held');
    }
  });

  it('catches a double-counted rollup increment', async () => {
    const bump = `UPDATE analytics.daily_event_counts SET events = events + ?
      WHERE (site_id, day, event_type) = (SELECT site_id, day, event_type FROM analytics.daily_event_counts ORDER BY 1, 2, 3 LIMIT 1)`;
    await sql(bump, [1]);
    try {
      const r = await settle('rollup_doubled');
      failsOnlyOn(r, { rollupsExact: false });
      expect(r.rollups.differences.some((d) => d.includes('total_events'))).toBe(true);
    } finally {
      await sql(bump, [-1]);
    }
  });

  it('catches a valid accepted event dead-lettered instead of stored (matched by the event_id in the payload)', async () => {
    const { rows } = await sql('DELETE FROM analytics.website_events WHERE id = (SELECT min(id) FROM analytics.website_events) RETURNING event_id::text AS id');
    const event = ledger.events.get(rows[0].id)!;
    await sql(`INSERT INTO analytics.dead_letters (topic, "partition", "offset", reason, error, payload) VALUES ('self-test', 0, 0, 'schema', 'tampered', ?)`, [
      Buffer.from(JSON.stringify(event)),
    ]);
    try {
      // Not lost (it is dead-lettered by id), but a valid event must never be dead-lettered; rollups miss it.
      failsOnlyOn(await settle('dead_lettered_event'), { deadLetteredEvents: 1, rollupsExact: false });
    } finally {
      await sql(`DELETE FROM analytics.dead_letters WHERE topic = 'self-test'`);
      await stage.db('analytics.website_events').insert({ ...event, received_at: event.timestamp, kafka_partition: 0, kafka_offset: 0 });
    }
  });

  it('catches a dead letter that no one sent', async () => {
    await sql(`INSERT INTO analytics.dead_letters (topic, "partition", "offset", reason, error, payload) VALUES ('self-test', 0, 1, 'invalid_json', 'tampered', ?)`, [
      Buffer.from('{"made": "up"}'),
    ]);
    try {
      failsOnlyOn(await settle('dead_letter_phantom'), { phantom: 1, rollupsExact: true });
    } finally {
      await sql(`DELETE FROM analytics.dead_letters WHERE topic = 'self-test'`);
    }
  });

  it('passes again once every tamper is undone', async () => {
    expectClean(await settle('restored'));
  });
});
