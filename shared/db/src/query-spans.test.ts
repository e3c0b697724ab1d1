import { spanCover, SPAN_DAYS } from './query-spans';

/*
 * The cover of a range by aligned spans, against a model written per day: each day belongs to the longest aligned
 * span (of SPAN_DAYS) that contains it and lies inside the range, or to none; the cover is those spans, in order.
 */
const DAY_MS = 86_400_000;
const num = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const text = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);

function modelCover(from: string, to: string): { firstDay: string; days: number }[] {
  const spans = new Map<string, { firstDay: string; days: number }>();
  for (let d = num(from); d <= num(to); d++) {
    for (const n of [...SPAN_DAYS].sort((a, b) => b - a)) {
      const start = d - (d % n);
      if (start >= num(from) && start + n - 1 <= num(to)) {
        spans.set(text(start), { firstDay: text(start), days: n });
        break;
      }
    }
  }
  return [...spans.values()].sort((a, b) => a.firstDay.localeCompare(b.firstDay));
}

describe('spanCover', () => {
  it('covers every range of up to 70 days as the per-day model says', () => {
    for (let start = 0; start < 40; start++) {
      for (let length = 1; length <= 70; length++) {
        const from = text(num('2025-10-01') + start);
        const to = text(num(from) + length - 1);
        expect({ from, to, cover: spanCover(from, to) }).toStrictEqual({ from, to, cover: modelCover(from, to) });
      }
    }
  });

  it('leaves a single day and a range without an aligned pair uncovered', () => {
    // 2025-10-01 is day 20362 (even), so 2025-10-02 … 2025-10-03 holds no aligned pair.
    expect(spanCover('2025-10-01', '2025-10-01')).toEqual([]);
    expect(spanCover('2025-10-02', '2025-10-03')).toEqual([]);
    expect(spanCover('2025-10-01', '2025-10-30')).toEqual([
      { firstDay: '2025-10-01', days: 2 }, { firstDay: '2025-10-03', days: 4 }, { firstDay: '2025-10-07', days: 16 }, { firstDay: '2025-10-23', days: 8 },
    ]);
  });
});
