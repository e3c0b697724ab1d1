import { cachedProbe } from './lifecycle';

describe('cachedProbe', () => {
  it('runs the probe once for concurrent callers and once per ttl, and a failing probe reads as not ready', async () => {
    let now = 0;
    let runs = 0;
    let ok = true;
    const probe = cachedProbe(async () => {
      runs++;
      if (!ok) throw new Error('down');
      return true;
    }, 1000, () => now);
    expect(await Promise.all(Array.from({ length: 50 }, () => probe()))).toEqual(new Array(50).fill(true));
    expect(runs).toBe(1);
    now += 999;
    await probe();
    expect(runs).toBe(1);
    now += 1;
    ok = false;
    expect(await probe()).toBe(false);
    expect(runs).toBe(2);
  });
});
