import { topicRecordCount } from '../helpers/kafka';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { send, validEvent } from './http';

/** Kafka's default message.max.bytes: the largest record batch a broker takes (the test broker keeps it). */
const BROKER_MAX_BATCH = 1_048_588;

/**
 * One valid /events request whose events, as records, are larger than one produce request may be: 500 events of one
 * site (one partition) in a body under the 1 MiB limit. Sent in one produce request, the broker refuses the batch
 * (MESSAGE_TOO_LARGE) and every event of that flush — a small request's too — gets 503.
 */
describe('ingest with a batch larger than one produce request', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({}, { consumer: false });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('accepts every event of the big request and the small one sent beside it', async () => {
    const events = Array.from({ length: pipeline.config.INGEST_MAX_BATCH_EVENTS }, (_, i) =>
      validEvent({ site_id: 'big-site', path: `/${String(i).padStart(4, '0')}/${'p'.repeat(1930)}` }),
    );
    const big = Buffer.from(JSON.stringify({ events }));
    // Preconditions, computed here: the body is valid and within the limit, the records are not.
    expect(big.length).toBeLessThanOrEqual(pipeline.config.INGEST_BODY_LIMIT_BYTES);
    const recordBytes = events.reduce((sum, e) => sum + JSON.stringify(e).length + '"event_id":"00000000-0000-0000-0000-000000000000","received_at":"2026-01-01T00:00:00.000Z",'.length, 0);
    expect(recordBytes).toBeGreaterThan(BROKER_MAX_BATCH);

    const before = await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC);
    const [bigAnswer, smallAnswer] = await Promise.all([
      send(`${pipeline.ingestUrl}/events`, big),
      send(`${pipeline.ingestUrl}/event`, Buffer.from(JSON.stringify(validEvent({ site_id: 'big-site', path: '/small' })))),
    ]);

    expect(smallAnswer.status).toBe(202);
    expect({ status: bigAnswer.status, accepted: bigAnswer.body?.accepted }).toEqual({ status: 202, accepted: events.length });
    expect(await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC)).toBe(before + events.length + 1);
  });
});
