import { TokenBuckets } from './rate-limits';

describe('TokenBuckets', () => {
  it('allows a one-second burst, then the steady rate, per key', () => {
    let now = 0;
    const buckets = new TokenBuckets(10, () => now);
    const takeAll = (key: string) => {
      let n = 0;
      while (buckets.waitFor(key) === 0) {
        buckets.take(key);
        n++;
      }
      return n;
    };
    expect(takeAll('a')).toBe(10);
    expect(buckets.waitFor('a')).toBe(1);
    expect(takeAll('b')).toBe(10);
    now += 500;
    expect(takeAll('a')).toBe(5);
    now += 60_000;
    expect(takeAll('a')).toBe(10);
  });

  it('is off at 0', () => {
    const buckets = new TokenBuckets(0, () => 0);
    for (let i = 0; i < 1000; i++) buckets.take('a');
    expect(buckets.waitFor('a')).toBe(0);
  });
});
