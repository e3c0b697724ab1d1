import { isSafeText, validateEventInput, validateEventMessage } from './event-schema';

const policy = { maxFutureMs: Date.parse('2026-01-01T00:00:00Z') };
const valid = { site_id: 's', event_type: 'page_view', path: '/', user_id: 'u', timestamp: '2025-11-16T10:00:00Z' };

describe('validateEventInput', () => {
  it('accepts the seed example, with or without an event_id', () => {
    expect(validateEventInput(valid, policy).ok).toBe(true);
    expect(validateEventInput({ ...valid, event_id: '0f8fad5b-d9cb-469f-a165-70867728950e' }, policy).ok).toBe(true);
  });

  it.each([
    ['a NUL byte', { ...valid, path: '/a\u0000b' }, 'path'],
    ['a lone surrogate', { ...valid, user_id: 'x\ud800' }, 'user_id'],
    ['a leap second', { ...valid, timestamp: '2016-12-31T23:59:60Z' }, 'timestamp'],
    ['a timestamp past the skew allowance', { ...valid, timestamp: '2026-01-02T00:00:00Z' }, 'timestamp'],
    ['"42" where a string is fine but a number is not', { ...valid, user_id: 42 }, 'user_id'],
    ['__proto__ as a key', JSON.parse('{"__proto__": {"polluted": 1}, "site_id": "s"}'), '__proto__'],
    ['a path one code point too long', { ...valid, path: '/' + '🚀'.repeat(2048) }, 'path'],
    ['a bad event_id', { ...valid, event_id: 'not-a-uuid' }, 'event_id'],
  ])('refuses %s', (_name, data, field) => {
    const r = validateEventInput(data, policy);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.field)).toContain(field);
  });

  it('counts length in code points, as PostgreSQL does', () => {
    expect(validateEventInput({ ...valid, path: '/' + '🚀'.repeat(2047 - 1) + 'x' }, policy).ok).toBe(true);
  });

  it('prefixes fields with the position in a batch', () => {
    const r = validateEventInput({ ...valid, path: 1 }, policy, 'events/3');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.field).toBe('events/3/path');
  });

  it('names a non-object item of a batch by its position alone', () => {
    const r = validateEventInput('not an event', policy, 'events/1');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual([{ field: 'events/1', message: 'must be a JSON object' }]);
  });

  it('names a timestamp once even when it breaks several rules', () => {
    const r = validateEventInput({ ...valid, timestamp: 'yesterday' }, policy);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toHaveLength(1);
  });

  it.each(['2025-11-16T10:00:00+0100', '2025-11-16T10:00:00+01', '2025-11-16 10:00:00Z'])('refuses %j, which is not RFC 3339', (timestamp) => {
    expect(validateEventInput({ ...valid, timestamp }, policy).ok).toBe(false);
  });

  it('reports a non-object body as such', () => {
    const r = validateEventInput([valid], policy);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toEqual({ field: '(body)', message: 'must be a JSON object' });
  });
});

describe('validateEventMessage', () => {
  it('requires event_id and received_at', () => {
    expect(validateEventMessage(valid).ok).toBe(false);
    expect(validateEventMessage({ ...valid, event_id: '0f8fad5b-d9cb-469f-a165-70867728950e', received_at: '2025-11-16T10:00:01Z' }).ok).toBe(true);
  });
});

describe('isSafeText', () => {
  it.each(['plain', '/café', '日本', '🚀', 'tab-free'])('accepts %j', (s) => expect(isSafeText(s)).toBe(true));
  it.each(['a\tb', 'a\nb', '\u007f', '\u0085', '\udc00x'])('refuses %j', (s) => expect(isSafeText(s)).toBe(false));
});
