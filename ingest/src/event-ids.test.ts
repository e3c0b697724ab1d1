import { randomFillSync } from 'node:crypto';
import { EventIds } from './event-ids';

/**
 * The model is RFC 9562's UUIDv7 layout read from the text (48-bit Unix ms, version 7, variant 10, then
 * rand_a/rand_b), not the `uuid` library the ids are made with: these ids must increase strictly, in time order,
 * whatever the clock does within a millisecond, and the random pool must be drawn 16 bytes per id, one fill for
 * many ids. tests/ingest/event-ids.test.ts checks the same over HTTP.
 */
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const unixMsOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
/** rand_a and the first 20 bits of rand_b after the variant: where the counter lives (RFC 9562 §6.2 method 2). */
const counterOf = (id: string) => {
  const hex = id.replace(/-/g, '');
  const randA = parseInt(hex.slice(13, 16), 16); // 12 bits after the version nibble
  const randB = BigInt(`0x${hex.slice(16, 32)}`) & ((1n << 62n) - 1n); // 62 bits after the variant
  return (BigInt(randA) << 20n) | (randB >> 42n);
};

describe('EventIds', () => {
  it('makes UUIDv7 ids carrying the clock, strictly increasing within a millisecond and across them', () => {
    let clock = 1_765_000_000_000;
    const ids = new EventIds({ now: () => clock });
    const made: string[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 700 === 0) clock += 1 + (i % 3); // mostly many ids in one millisecond
      made.push(ids.next());
    }
    for (const id of made) expect(id).toMatch(V7);
    expect(made.map(unixMsOf)[0]).toBe(1_765_000_000_001);
    for (let i = 1; i < made.length; i++) {
      expect(made[i]! > made[i - 1]!).toBe(true);
      if (unixMsOf(made[i]!) === unixMsOf(made[i - 1]!)) expect(counterOf(made[i]!)).toBe(counterOf(made[i - 1]!) + 1n);
    }
  });

  it('keeps increasing when the clock steps back, counting on from the later time', () => {
    let clock = 1_765_000_000_500;
    // Random bytes of all ones: the counter starts at its largest seed, 2^31 − 1 (31 random bits).
    const ids = new EventIds({ now: () => clock, fill: (b) => b.fill(0xff) });
    const first = ids.next();
    expect(counterOf(first)).toBe(0x7fffffffn);
    clock -= 400; // an NTP step back: the ids keep the later time and go on counting
    const afterStep = ids.next();
    expect(unixMsOf(afterStep)).toBe(1_765_000_000_500);
    expect(counterOf(afterStep)).toBe(0x80000000n);
    expect(afterStep > first).toBe(true);
  });

  it('fills its random pool once per 512 ids, with bytes from the fill it was given', () => {
    let fills = 0;
    const ids = new EventIds({
      fill: (b) => {
        fills++;
        randomFillSync(b);
      },
    });
    for (let i = 0; i < 2048; i++) ids.next();
    expect(fills).toBe(4);
    ids.next();
    expect(fills).toBe(5);
  });
});
