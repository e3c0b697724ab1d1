import { AppError } from '@sitestream/shared';
import { parseStatsParams } from './stats-params';

const fieldsOf = (query: Record<string, unknown>): string[] => {
  try {
    parseStatsParams(query);
  } catch (err) {
    if (err instanceof AppError && err.code === 'INVALID_QUERY') return (err.details ?? []).map((d) => d.field);
    throw err;
  }
  return [];
};

describe('parseStatsParams', () => {
  it('reads the seed query as one day with the default page', () => {
    expect(parseStatsParams({ site_id: 'site-abc-123', date: '2025-11-16' })).toEqual({
      siteId: 'site-abc-123', kind: 'day', from: '2025-11-16', to: '2025-11-16', limit: 10, offset: 0,
    });
  });

  it('reads a range and a page', () => {
    expect(parseStatsParams({ site_id: 's', from: '2024-03-01', to: '2025-02-28', limit: '1000', offset: '100000' })).toEqual({
      siteId: 's', kind: 'range', from: '2024-03-01', to: '2025-02-28', limit: 1000, offset: 100000,
    });
  });

  it('accepts a range of exactly 366 days, both ends included, and refuses 367', () => {
    expect(parseStatsParams({ site_id: 's', from: '2024-01-01', to: '2024-12-31' }).kind).toBe('range');
    expect(fieldsOf({ site_id: 's', from: '2025-01-01', to: '2026-01-01' })).toEqual([]);
    expect(fieldsOf({ site_id: 's', from: '2025-01-01', to: '2026-01-02' })).toEqual(['to']);
  });

  it.each([
    ['no site_id', { date: '2025-11-16' }, ['site_id']],
    ['no day at all', { site_id: 's' }, ['date']],
    ['date with a range', { site_id: 's', date: '2025-11-16', from: '2025-11-01' }, ['date']],
    ['from without to', { site_id: 's', from: '2025-11-01' }, ['to']],
    ['to without from', { site_id: 's', to: '2025-11-01' }, ['from']],
    ['to before from', { site_id: 's', from: '2025-11-02', to: '2025-11-01' }, ['to']],
    ['an impossible from', { site_id: 's', from: '2025-02-29', to: '2025-03-01' }, ['from']],
    ['limit 0', { site_id: 's', date: '2025-11-16', limit: '0' }, ['limit']],
    ['limit 1001', { site_id: 's', date: '2025-11-16', limit: '1001' }, ['limit']],
    ['a signed limit', { site_id: 's', date: '2025-11-16', limit: '+5' }, ['limit']],
    ['a decimal limit', { site_id: 's', date: '2025-11-16', limit: '5.0' }, ['limit']],
    ['an exponent offset', { site_id: 's', date: '2025-11-16', offset: '1e3' }, ['offset']],
    ['a negative offset', { site_id: 's', date: '2025-11-16', offset: '-1' }, ['offset']],
    ['an offset past the cap', { site_id: 's', date: '2025-11-16', offset: '100001' }, ['offset']],
    ['a repeated limit', { site_id: 's', date: '2025-11-16', limit: ['1', '2'] }, ['limit']],
    ['a nested parameter', { site_id: { a: '1' }, date: '2025-11-16' }, ['site_id']],
    ['a control character in site_id', { site_id: 'a\nb', date: '2025-11-16' }, ['site_id']],
    ['an unknown parameter', { site_id: 's', date: '2025-11-16', tz: 'UTC' }, ['tz']],
    ['several problems', { limit: 'x', offset: 'y' }, ['site_id', 'date', 'limit', 'offset']],
  ])('refuses %s, naming the field', (_name, query, fields) => {
    expect(fieldsOf(query).sort()).toEqual([...fields].sort());
  });
});
