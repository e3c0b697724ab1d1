import { createTestDatabase, type TestDatabase } from '../../../tests/helpers/test-database';
import { judgePosition, readStoredPositions, rewritePosition, type LogIdentity, type PositionVerdict, type StoredPosition } from './partition-positions';

/**
 * When may a stored position be used? Each case states the situation it stands for; the expected verdicts are
 * written out here, not derived from the rule.
 */
describe('judgePosition', () => {
  const A = 'cluster-A-ZmFrZWlkMDA';
  const B = 'cluster-B-ZmFrZWlkMDE';
  const cases: Array<[string, StoredPosition | undefined, LogIdentity, PositionVerdict]> = [
    ['a restart on the same cluster, part of the log read', { nextOffset: 500, clusterId: A }, { clusterId: A, high: 800 }, { action: 'keep' }],
    ['a restart on the same cluster, everything read', { nextOffset: 800, clusterId: A }, { clusterId: A, high: 800 }, { action: 'keep' }],
    ['the same cluster, nothing read of an empty partition', { nextOffset: 0, clusterId: A }, { clusterId: A, high: 0 }, { action: 'keep' }],
    ['a new cluster whose topic is shorter (a second clone)', { nextOffset: 500, clusterId: A }, { clusterId: B, high: 20 }, { action: 'reset', reason: 'another_cluster' }],
    ['a new cluster whose topic already grew past the old position', { nextOffset: 500, clusterId: A }, { clusterId: B, high: 9000 }, { action: 'reset', reason: 'another_cluster' }],
    ['a new cluster whose topic is empty', { nextOffset: 500, clusterId: A }, { clusterId: B, high: 0 }, { action: 'reset', reason: 'another_cluster' }],
    ['a new cluster, the old position at 0', { nextOffset: 0, clusterId: A }, { clusterId: B, high: 3 }, { action: 'reset', reason: 'another_cluster' }],
    ['the topic deleted and recreated on the same cluster, now shorter', { nextOffset: 500, clusterId: A }, { clusterId: A, high: 499 }, { action: 'reset', reason: 'beyond_high_watermark' }],
    ['an upgraded row (no cluster yet) within the log', { nextOffset: 500, clusterId: null }, { clusterId: A, high: 800 }, { action: 'adopt' }],
    ['an upgraded row exactly at the high watermark', { nextOffset: 800, clusterId: null }, { clusterId: A, high: 800 }, { action: 'adopt' }],
    ['an upgraded row beyond the high watermark (a new, shorter log)', { nextOffset: 801, clusterId: null }, { clusterId: A, high: 800 }, { action: 'reset', reason: 'beyond_high_watermark' }],
    ['nothing stored for the partition yet', undefined, { clusterId: A, high: 800 }, { action: 'start' }],
  ];

  it.each(cases)('%s', (_situation, stored, log, expected) => {
    expect(judgePosition(stored, log)).toEqual(expected);
  });
});

describe('rewritePosition', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });
  const key = { group: 'g', topic: 't', partition: 0 };

  it('rewrites the row only while it still is the position that was judged', async () => {
    await t.db.raw(`INSERT INTO analytics.consumer_offsets (consumer_group, topic, "partition", next_offset) VALUES ('g', 't', 0, 500)`);
    const judged = (await readStoredPositions(t.db, 'g', 't', [0])).get(0)!;
    expect(judged).toEqual({ nextOffset: 500, clusterId: null });
    // Another member moved it meanwhile: the rewrite must not undo that.
    await t.db.raw(`UPDATE analytics.consumer_offsets SET next_offset = 510`);
    expect(await rewritePosition(t.db, key, judged, { nextOffset: 0, clusterId: 'B' })).toBe(false);
    expect((await readStoredPositions(t.db, 'g', 't', [0])).get(0)).toEqual({ nextOffset: 510, clusterId: null });
    expect(await rewritePosition(t.db, key, { nextOffset: 510, clusterId: null }, { nextOffset: 0, clusterId: 'B' })).toBe(true);
    expect((await readStoredPositions(t.db, 'g', 't', [0])).get(0)).toEqual({ nextOffset: 0, clusterId: 'B' });
  });
});
