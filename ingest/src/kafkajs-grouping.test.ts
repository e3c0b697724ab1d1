import { Partitioners } from 'kafkajs';

/**
 * Pins patches/kafkajs+2.2.4.patch (applied by `npm ci` through the root package.json's postinstall): kafkajs
 * 2.2.4 groups a send's messages by partition with `[...current, message]` per message, so a produce request of
 * n events for one partition copies n²/2 array elements — the publisher sends up to INGEST_BATCH_MAX_MESSAGES
 * events per request. This fails when the patch is missing (a fresh install that skipped it, or a kafkajs
 * upgrade that dropped it without the fix upstream): then revisit the patch.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  messages: { key: string; value: string }[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: { key: string } }) => number;
}) => Record<string, { key: string; value: string }[]>;

const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1] }));
const messages = (n: number, keys: number) => Array.from({ length: n }, (_, i) => ({ key: `site-${i % keys}`, value: `event-${i}` }));

/** Array elements handed out by array iterators (spreads, for…of) while `work` runs. */
function elementsIterated(work: () => void): number {
  const original = Array.prototype[Symbol.iterator];
  let count = 0;
  Array.prototype[Symbol.iterator] = function (this: unknown[]) {
    const it = original.call(this);
    return {
      next: () => {
        const r = it.next();
        if (!r.done) count++;
        return r;
      },
      [Symbol.iterator]() {
        return this;
      },
    } as ArrayIterator<unknown>;
  };
  try {
    work();
  } finally {
    Array.prototype[Symbol.iterator] = original;
  }
  return count;
}

describe("kafkajs's grouping of a send's messages by partition (patched)", () => {
  it('groups exactly as partitioned, keeping the order within each partition', () => {
    // The model: a partitioner of our own (key number mod 3), and the expected groups built from it directly.
    const sent = messages(1000, 7);
    const byKey = ({ message }: { message: { key: string } }) => Number(message.key.slice('site-'.length)) % 3;
    const expected: Record<string, typeof sent> = {};
    for (const m of sent) (expected[String(byKey({ message: m }))] ??= []).push(m);
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata, messages: sent, partitioner: byKey })).toEqual(expected);
    // The partitioner the publisher uses (murmur2, as the Java client): every message lands once, in order.
    const murmur = Partitioners.DefaultPartitioner();
    const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages: sent, partitioner: murmur as never });
    expect(Object.values(grouped).flat().sort((a, b) => Number(a.value.slice(6)) - Number(b.value.slice(6)))).toEqual(sent);
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: sent, partitioner: byKey })).toEqual({});
  });

  it('copies each message once, not once per message before it in its partition', () => {
    const n = 2000;
    const onePartition = () => groupMessagesPerPartition({ topic: 't', partitionMetadata, messages: messages(n, 1), partitioner: () => 0 });
    // Unpatched: 0 + 1 + … + (n − 1) ≈ 2 million elements for 2,000 messages; linear code touches each at most twice.
    expect(elementsIterated(onePartition)).toBeLessThanOrEqual(2 * n);
  });
});
