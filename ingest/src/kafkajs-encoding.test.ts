import { randomBytes } from 'node:crypto';

/**
 * Pins the record-encoding part of patches/kafkajs+2.2.4.patch (applied by `npm ci` through the root
 * package.json's postinstall). kafkajs 2.2.4 encodes each record into a zero-filled 512-byte buffer, builds an
 * array and a Buffer per varint, and copies a produce request's batch through eight encoders that each start at
 * 512 zero-filled bytes and double until it fits (BENCHMARKS.md, "Ingest hot path": `FastBuffer` 4.7 % of
 * ingest's busy time). Patched, every encoder of a produce request is allocated once at its final size, unfilled,
 * and the batch's CRC-32C is computed eight bytes per step. The bytes on the wire must not change: they are
 * compared with the Kafka protocol's layout written out below, not with kafkajs's own encoder. This fails when
 * the patch is missing (a fresh install that skipped it, or a kafkajs upgrade that dropped it): then revisit it.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
interface Encoded {
  buffer: Buffer;
  size(): number;
}
type Message = { key: Buffer; value: Buffer; timestamp?: string };
const encodeRequest = require('kafkajs/src/protocol/request') as (args: {
  correlationId: number;
  clientId: string;
  request: { apiKey: number; apiVersion: number; encode: () => Promise<Encoded> };
}) => Promise<Encoded>;
const produce = require('kafkajs/src/protocol/requests/produce') as {
  protocol: (args: { version: number }) => (args: {
    acks: number;
    timeout: number;
    topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: Message[] }[] }[];
  }) => { request: { apiKey: number; apiVersion: number; encode: () => Promise<Encoded> } };
};
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C') as (buffer: Buffer) => number;
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;
const Long = require('kafkajs/src/utils/long') as { fromValue: (value: unknown) => unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

// --- The model: Kafka's produce request v3+ and record batch v2 as the protocol guide lays them out. ---

/** CRC-32C bit by bit (reflected Castagnoli polynomial 0x82F63B78): no table shared with the code under test. */
function crc32CBitwise(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return ~crc >>> 0;
}

const int8 = (v: number) => [v & 0xff];
const int16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const int32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const int64 = (v: bigint) => Array.from({ length: 8 }, (_, i) => Number((BigInt.asUintN(64, v) >> BigInt(56 - 8 * i)) & 0xffn));
/** Zig-zag, then 7 bits per byte, least significant first (protobuf's varint), for any 64-bit value. */
function varlong(v: bigint): number[] {
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  return [...out, Number(z)];
}
const varint = (v: number) => varlong(BigInt(v));
const str16 = (s: string | null) => (s === null ? int16(-1) : [...int16(Buffer.byteLength(s)), ...Buffer.from(s)]);

function modelRequest(correlationId: number, clientId: string, topic: string, partitions: { partition: number; messages: Message[] }[]): Buffer {
  const partitionBytes = partitions.flatMap(({ partition, messages }) => {
    const timestamps = messages.map((m) => BigInt(m.timestamp!));
    const first = timestamps.reduce((a, b) => (b < a ? b : a));
    const max = timestamps.reduce((a, b) => (b > a ? b : a));
    const records = messages.flatMap((m, i) => {
      const body = [...int8(0), ...varlong(BigInt(m.timestamp!) - first), ...varint(i), ...varint(m.key.length), ...m.key, ...varint(m.value.length), ...m.value, ...varint(0)];
      return [...varint(body.length), ...body];
    });
    // attributes 0 (no compression, not transactional), then the batch fields a non-idempotent producer sends.
    const checked = [...int16(0), ...int32(messages.length - 1), ...int64(first), ...int64(max), ...int64(-1n), ...int16(0), ...int32(0), ...int32(messages.length), ...records];
    const afterLength = [...int32(0), ...int8(2), ...int32(crc32CBitwise(Uint8Array.from(checked))), ...checked];
    const batch = [...int64(0n), ...int32(afterLength.length), ...afterLength];
    return [...int32(partition), ...int32(batch.length), ...batch];
  });
  const body = [...str16(null), ...int16(-1), ...int32(30000), ...int32(1), ...str16(topic), ...int32(partitions.length), ...partitionBytes];
  const payload = [...int16(0), ...int16(7), ...int32(correlationId), ...str16(clientId), ...body];
  return Buffer.from([...int32(payload.length), ...payload]);
}

// --- The code under test: what the producer hands the connection for a send. ---

/** Time deltas over more than one varint byte; with `farLast`, the last one past int32 (a varint of Longs). */
const messagesOf = (n: number, valueBytes: (i: number) => number, baseTime: number, farLast = true): Message[] =>
  Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`site-${i % 3}`),
    value: randomBytes(valueBytes(i)),
    timestamp: String(baseTime + (farLast && i === n - 1 && n > 2 ? 2 ** 33 : i * 37)),
  }));

async function kafkajsRequest(correlationId: number, clientId: string, topic: string, partitions: { partition: number; messages: Message[] }[]): Promise<Buffer> {
  const { request } = produce.protocol({ version: 7 })({
    acks: -1,
    timeout: 30000,
    topicData: [{ topic, partitions: partitions.map((p) => ({ ...p, firstSequence: 0 })) }],
  });
  return (await encodeRequest({ correlationId, clientId, request })).buffer;
}

/** Buffers allocated while `work` runs: how many were zero-filled, and the bytes of all of them. */
async function allocations(work: () => Promise<unknown>): Promise<{ zeroFilled: number; fromArrays: number; bytes: number }> {
  const counts = { zeroFilled: 0, fromArrays: 0, bytes: 0 };
  const original = Buffer.alloc;
  const alloc = jest.spyOn(Buffer, 'alloc').mockImplementation(((...args: Parameters<typeof Buffer.alloc>) => {
    counts.zeroFilled++;
    counts.bytes += args[0];
    return original(...args);
  }) as typeof Buffer.alloc);
  const allocUnsafe = Buffer.allocUnsafe;
  const unsafe = jest.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
    counts.bytes += size;
    return allocUnsafe(size);
  });
  const from = Buffer.from;
  const fromSpy = jest.spyOn(Buffer, 'from').mockImplementation(function (this: unknown, ...args: unknown[]) {
    if (Array.isArray(args[0])) counts.fromArrays++;
    return (from as (...a: unknown[]) => Buffer).apply(Buffer, args);
  } as typeof Buffer.from);
  try {
    await work();
  } finally {
    alloc.mockRestore();
    unsafe.mockRestore();
    fromSpy.mockRestore();
  }
  return counts;
}

describe("kafkajs's encoding of a produce request (patched)", () => {
  const baseTime = 1_765_000_000_000;

  it('sends the bytes the Kafka protocol lays out, for one record, for many over two partitions, and for empty values', async () => {
    const cases = [
      [{ partition: 0, messages: messagesOf(1, () => 300, baseTime) }],
      [
        { partition: 2, messages: messagesOf(700, (i) => 1 + ((i * 97) % 900), baseTime) },
        { partition: 5, messages: messagesOf(300, () => 20_000, baseTime + 5) },
      ],
      [{ partition: 1, messages: messagesOf(3, () => 0, baseTime) }],
    ];
    for (const [i, partitions] of cases.entries()) {
      const got = await kafkajsRequest(100 + i, 'sitestream-ingest', 'events', partitions);
      expect(got.equals(modelRequest(100 + i, 'sitestream-ingest', 'events', partitions))).toBe(true);
    }
  });

  it("computes CRC-32C as the bitwise definition does, at every length around the eight-byte steps", () => {
    // The check value of the CRC-32C catalogue (RFC 3720 B.4 names the polynomial): "123456789" → 0xE3069283.
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    for (let length = 0; length <= 70; length++) {
      const bytes = randomBytes(length);
      expect(crc32C(bytes)).toBe(crc32CBitwise(bytes));
    }
    const large = randomBytes(100_003);
    expect(crc32C(large)).toBe(crc32CBitwise(large));
  });

  it('allocates each buffer of a produce request once, at its size, without zero-filling', async () => {
    // 1,000 records of ~300 bytes, as the publisher's largest single-partition request of typical events.
    const partitions = [{ partition: 0, messages: messagesOf(1000, () => 300, baseTime, false) }];
    let encoded = 0;
    const counts = await allocations(async () => {
      encoded = (await kafkajsRequest(1, 'sitestream-ingest', 'events', partitions)).length;
    });
    expect(counts.zeroFilled).toBe(0);
    expect(counts.fromArrays).toBe(0);
    // Nine encoders hold the request at its successive levels (record, batch body, batch, batch with offset,
    // partition, topic, produce body, request payload, request): at their exact sizes that is 9 × the request.
    // Unpatched: each level doubles from 512 bytes to the next power of two, and every record takes 512 bytes.
    expect(counts.bytes).toBeLessThanOrEqual(9 * encoded + 1024);
  });
});

describe("kafkajs's murmur2 key hash, which picks an event's partition (patched)", () => {
  /** Java's Utils.murmur2 written out with BigInt wrapped to 32 bits: the model, no code shared with kafkajs. */
  function murmur2Model(data: Buffer): number {
    const m = 0x5bd1e995n;
    const i32 = (v: bigint) => BigInt.asIntN(32, v);
    const shr = (v: bigint, n: bigint) => BigInt.asUintN(32, v) >> n;
    let h = i32(0x9747b28cn ^ BigInt(data.length));
    for (let i = 0; i + 4 <= data.length; i += 4) {
      let k = i32(BigInt(data.readInt32LE(i)));
      k = i32(k * m);
      k = i32(k ^ shr(k, 24n));
      k = i32(k * m);
      h = i32(i32(h * m) ^ k);
    }
    const tail = data.length & ~3;
    const rest = data.length % 4;
    if (rest === 3) h = i32(h ^ (BigInt(data[tail + 2]!) << 16n));
    if (rest >= 2) h = i32(h ^ (BigInt(data[tail + 1]!) << 8n));
    if (rest >= 1) h = i32((h ^ BigInt(data[tail]!)) * m);
    h = i32(h ^ shr(h, 13n));
    h = i32(h * m);
    return Number(i32(h ^ shr(h, 15n)));
  }

  it("gives Kafka's own test vectors and the Java model's hash of keys of every length", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2: the Java producer's partition of a key.
    const java: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of java) expect([key, murmur2(Buffer.from(key))]).toEqual([key, hash]);
    for (let length = 0; length < 80; length++) {
      const key = randomBytes(length);
      expect(murmur2(key)).toBe(murmur2Model(key));
    }
    expect(murmur2('site-1')).toBe(murmur2Model(Buffer.from('site-1')));
  });

  it('hashes in 32-bit arithmetic, without a 64-bit Long per four bytes of key', () => {
    const fromValue = jest.spyOn(Long, 'fromValue');
    try {
      murmur2(Buffer.from('3f2b8c1e-9d4a-4f6b-8e2c-7a1d5b9c0e4f'));
      expect(fromValue).not.toHaveBeenCalled();
    } finally {
      fromValue.mockRestore();
    }
  });
});
