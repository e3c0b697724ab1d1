import { parseCalendarDate, utcDayRange } from './time';

describe('parseCalendarDate', () => {
  it.each(['2025-11-16', '2024-02-29', '1970-01-01', '2025-12-31'])('accepts the real date %s', (s) => {
    expect(parseCalendarDate(s)).toBeDefined();
  });
  it.each(['2025-02-29', '2025-02-30', '2025-13-01', '2025-00-10', '2025-11-31', '16-11-2025', '2025-11-16T00:00:00Z', '2025-1-1', '', '1969-12-31', ' 2025-11-16'])(
    'refuses %j',
    (s) => {
      expect(parseCalendarDate(s)).toBeUndefined();
    },
  );
});

describe('utcDayRange', () => {
  it('is the half-open UTC day', () => {
    expect(utcDayRange({ year: 2025, month: 11, day: 16 })).toEqual({ start: '2025-11-16T00:00:00.000Z', end: '2025-11-17T00:00:00.000Z' });
    expect(utcDayRange({ year: 2024, month: 12, day: 31 }).end).toBe('2025-01-01T00:00:00.000Z');
  });
});
