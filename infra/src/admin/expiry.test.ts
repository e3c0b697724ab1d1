import { parseExpiry } from './expiry';

describe('parseExpiry', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['30d', '2026-01-31T00:00:00.000Z'],
    ['12h', '2026-01-01T12:00:00.000Z'],
    ['90m', '2026-01-01T01:30:00.000Z'],
    ['2026-02-01', '2026-02-01T00:00:00.000Z'],
    ['2026-02-01T10:00:00+02:00', '2026-02-01T08:00:00.000Z'],
  ])('reads %s', (text, iso) => expect(parseExpiry(text, now)?.toISOString()).toBe(iso));
  it.each(['0d', '30', 'tomorrow', '2025-12-31', '2026-02-30', '2026-02-01T10:00:00', ''])('refuses %j', (text) => {
    expect(parseExpiry(text, now)).toBeUndefined();
  });
});
