import { AuthFailureCounter } from './auth-failures';

describe('AuthFailureCounter', () => {
  it('blocks a client at the limit until its minute is over, and no other client', () => {
    let now = 1_000_000;
    const counter = new AuthFailureCounter(2, () => now);
    counter.recordFailure('a');
    expect(counter.blockedFor('a')).toBe(0);
    counter.recordFailure('a');
    expect(counter.blockedFor('a')).toBe(60);
    expect(counter.blockedFor('b')).toBe(0);
    now += 59_500;
    expect(counter.blockedFor('a')).toBe(1);
    now += 500;
    expect(counter.blockedFor('a')).toBe(0);
  });

  it('forgets the oldest clients first when it holds too many', () => {
    const counter = new AuthFailureCounter(1, () => 0, 2);
    counter.recordFailure('a');
    counter.recordFailure('b');
    counter.recordFailure('c');
    expect([counter.blockedFor('a'), counter.blockedFor('b') > 0, counter.blockedFor('c') > 0]).toEqual([0, true, true]);
  });
});
