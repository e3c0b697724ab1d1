import { readTopicRecords } from '../helpers/kafka';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { waitFor } from '../helpers/wait-for';
import { send, validEvent } from './http';

/**
 * The ids ingest assigns are UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, version 7, variant 10, so they
 * sort by time and the (site_id, event_id) index is written at its right edge. The model here is the RFC's
 * layout read directly from the text, not the library that makes them.
 */
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const unixMsOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('event ids that ingest assigns', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({}, { consumer: false });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('are UUIDv7 carrying the time they were assigned, increasing over time and within a batch; given ids stay', async () => {
    const assigned: { id: string; sentAt: number; answeredAt: number }[] = [];
    for (let i = 0; i < 12; i++) {
      // Some requests within the same millisecond, some after the clock moved on: both must still increase.
      if (i % 3 === 0) {
        const from = Date.now();
        await waitFor(() => Date.now() >= from + 3, { intervalMs: 1 });
      }
      const sentAt = Date.now();
      const single = await send(`${pipeline.ingestUrl}/event`, body(validEvent({ path: `/single/${i}` })));
      const answeredAt = Date.now();
      expect(single.status).toBe(202);
      assigned.push({ id: single.body.event_id, sentAt, answeredAt });
      if (i % 4 === 1) {
        const batch = await send(`${pipeline.ingestUrl}/events`, body({ events: Array.from({ length: 25 }, (_, j) => validEvent({ path: `/batch/${i}/${j}` })) }));
        const batchAnsweredAt = Date.now();
        expect(batch.status).toBe(202);
        for (const r of batch.body.results) assigned.push({ id: r.event_id, sentAt: answeredAt, answeredAt: batchAnsweredAt });
      }
    }

    for (const a of assigned) {
      expect(a.id).toMatch(V7);
      expect(unixMsOf(a.id)).toBeGreaterThanOrEqual(a.sentAt);
      expect(unixMsOf(a.id)).toBeLessThanOrEqual(a.answeredAt);
    }
    // In the order they were answered (requests one after another, batch items in index order): strictly
    // increasing as text, which for lower-case hex of equal length is their order as 128-bit numbers.
    const ids = assigned.map((a) => a.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(unixMsOf(ids[ids.length - 1]!)).toBeGreaterThan(unixMsOf(ids[0]!));

    // A client's own id (a v4 here) is the one answered and the one on Kafka.
    const own = ['3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e4f', '0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d'];
    const ownSingle = await send(`${pipeline.ingestUrl}/event`, body(validEvent({ event_id: own[0] })));
    const ownBatch = await send(`${pipeline.ingestUrl}/events`, body({ events: [validEvent({ event_id: own[1] }), validEvent({ path: '/mixed' })] }));
    expect(ownSingle.body.event_id).toBe(own[0]);
    expect(ownBatch.body.results[0].event_id).toBe(own[1]);
    expect(ownBatch.body.results[1].event_id).toMatch(V7);

    const onKafka = (await readTopicRecords(pipeline.config, pipeline.config.KAFKA_TOPIC)).map((r) => {
      const text = r.toString('utf8');
      return (JSON.parse(text.slice(text.indexOf('{'))) as { event_id: string }).event_id;
    });
    expect(new Set(onKafka)).toEqual(new Set([...ids, ...own, ownBatch.body.results[1].event_id]));
  });
});
