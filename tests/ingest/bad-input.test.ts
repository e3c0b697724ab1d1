import { gzipSync } from 'node:zlib';
import { topicRecordCount } from '../helpers/kafka';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { send, validEvent, type Sent } from './http';

/**
 * Every bad input gets its exact 4xx, a JSON error naming the field (or the body-level problem), no stack
 * trace, and reaches nothing: after all of them the topic is still empty and the service still answers.
 */
describe('ingest refuses bad input', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({}, { consumer: false });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const event = (overrides: Record<string, unknown>) => json(validEvent(overrides));
  const astral = (n: number) => '😀'.repeat(n);
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const limit = () => pipeline.config.INGEST_BODY_LIMIT_BYTES;
  const inTwoDays = () => new Date(Date.now() + 2 * 86_400_000).toISOString();

  interface Case {
    name: string;
    body: () => Buffer;
    status: number;
    code: string;
    /** The field the error must name; body-level errors (encoding, size, media type) have none. */
    field?: string;
    path?: '/event' | '/events';
    headers?: Record<string, string>;
  }

  const cases: Case[] = [
    // Characters PostgreSQL refuses or that corrupt data downstream.
    { name: 'a NUL in path', body: () => event({ path: '/a\u0000b' }), status: 400, code: 'INVALID_EVENT', field: 'path' },
    { name: 'a NUL in site_id', body: () => event({ site_id: '\u0000' }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    { name: 'a BEL control character in user_id', body: () => event({ user_id: 'u\u0007' }), status: 400, code: 'INVALID_EVENT', field: 'user_id' },
    { name: 'an ESC in event_type', body: () => event({ event_type: '\u001b[31mred' }), status: 400, code: 'INVALID_EVENT', field: 'event_type' },
    { name: 'a newline in site_id', body: () => event({ site_id: 'a\nb' }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    { name: 'DEL in path', body: () => event({ path: '/\u007f' }), status: 400, code: 'INVALID_EVENT', field: 'path' },
    { name: 'a C1 control (NEL) in path', body: () => event({ path: '/\u0085' }), status: 400, code: 'INVALID_EVENT', field: 'path' },
    { name: 'a lone high surrogate in user_id', body: () => event({ user_id: 'x\ud800' }), status: 400, code: 'INVALID_EVENT', field: 'user_id' },
    { name: 'a lone low surrogate in path', body: () => event({ path: '/\udc00' }), status: 400, code: 'INVALID_EVENT', field: 'path' },
    // Bytes that are not UTF-8: express.json would have turned them into U+FFFD and stored altered data.
    { name: 'a 0xFF byte', body: () => Buffer.concat([Buffer.from('{"site_id":"'), Buffer.from([0xff]), Buffer.from('"}')]), status: 400, code: 'INVALID_ENCODING' },
    { name: 'an overlong encoding of "/"', body: () => Buffer.concat([Buffer.from('{"path":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), status: 400, code: 'INVALID_ENCODING' },
    { name: 'a UTF-8-encoded surrogate', body: () => Buffer.concat([Buffer.from('{"path":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), status: 400, code: 'INVALID_ENCODING' },
    { name: 'a truncated multi-byte sequence', body: () => Buffer.concat([Buffer.from('{"path":"'), Buffer.from([0xe2, 0x82])]), status: 400, code: 'INVALID_ENCODING' },
    // Lengths one code point past the column, counted as PostgreSQL counts (astral characters are one each).
    { name: 'site_id of 256 astral characters', body: () => event({ site_id: astral(256) }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    { name: 'event_type of 51 characters', body: () => event({ event_type: 'e'.repeat(51) }), status: 400, code: 'INVALID_EVENT', field: 'event_type' },
    { name: 'path of 2049 astral characters', body: () => event({ path: astral(2049) }), status: 400, code: 'INVALID_EVENT', field: 'path' },
    { name: 'user_id of 256 characters', body: () => event({ user_id: 'u'.repeat(256) }), status: 400, code: 'INVALID_EVENT', field: 'user_id' },
    { name: 'an empty site_id', body: () => event({ site_id: '' }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    // Ids must be visible: two ids that look alike must be equal.
    { name: 'a whitespace-only site_id', body: () => event({ site_id: ' \u00a0 ' }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    { name: 'a whitespace-only user_id', body: () => event({ user_id: '\u3000' }), status: 400, code: 'INVALID_EVENT', field: 'user_id' },
    { name: 'a bidi override in site_id', body: () => event({ site_id: 'site-\u202eevil' }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    { name: 'a bidi isolate in event_type', body: () => event({ event_type: '\u2067click' }), status: 400, code: 'INVALID_EVENT', field: 'event_type' },
    { name: 'a zero-width space in user_id', body: () => event({ user_id: 'user\u200b1' }), status: 400, code: 'INVALID_EVENT', field: 'user_id' },
    { name: 'a byte order mark in site_id', body: () => event({ site_id: '\ufeffsite' }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    // Keys: unknown ones, and the ones that poison prototypes.
    { name: 'an unknown field', body: () => event({ colour: 'red' }), status: 400, code: 'INVALID_EVENT', field: 'colour' },
    { name: 'a __proto__ key', body: () => Buffer.from(JSON.stringify(validEvent()).replace('{', '{"__proto__":{"admin":true},')), status: 400, code: 'INVALID_EVENT', field: '__proto__' },
    { name: 'a constructor key', body: () => Buffer.from(JSON.stringify(validEvent()).replace('{', '{"constructor":{"prototype":{}},')), status: 400, code: 'INVALID_EVENT', field: 'constructor' },
    { name: 'a prototype key', body: () => event({ prototype: {} }), status: 400, code: 'INVALID_EVENT', field: 'prototype' },
    // Types are never coerced.
    { name: 'a number user_id', body: () => event({ user_id: 42 }), status: 400, code: 'INVALID_EVENT', field: 'user_id' },
    { name: 'a null event_type', body: () => event({ event_type: null }), status: 400, code: 'INVALID_EVENT', field: 'event_type' },
    { name: 'a boolean path', body: () => event({ path: true }), status: 400, code: 'INVALID_EVENT', field: 'path' },
    { name: 'an array site_id', body: () => event({ site_id: ['site-abc-123'] }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    { name: 'an object user_id', body: () => event({ user_id: { id: 'u' } }), status: 400, code: 'INVALID_EVENT', field: 'user_id' },
    { name: 'a missing timestamp', body: () => event({ timestamp: undefined }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'a non-UUID event_id', body: () => event({ event_id: 'not-a-uuid' }), status: 400, code: 'INVALID_EVENT', field: 'event_id' },
    // Timestamps.
    { name: 'a timestamp without offset', body: () => event({ timestamp: '2025-11-16T10:00:00' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'a date without time', body: () => event({ timestamp: '2025-11-16' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'February 30', body: () => event({ timestamp: '2025-02-30T10:00:00Z' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'a leap second', body: () => event({ timestamp: '2016-12-31T23:59:60Z' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'a timestamp beyond the future skew', body: () => event({ timestamp: inTwoDays() }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'an epoch number', body: () => event({ timestamp: 1763287200000 }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: '1e20', body: () => Buffer.from(JSON.stringify(validEvent()).replace('"2025-11-16T10:00:00Z"', '1e20')), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'an offset of +99:99', body: () => event({ timestamp: '2025-11-16T10:00:00+99:99' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    // PostgreSQL reads offsets up to ±15:59 only (22009 past them): accepted, such an event would be dead-lettered.
    { name: 'an offset of +16:00', body: () => event({ timestamp: '2025-11-16T10:00:00+16:00' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'an offset of -23:59', body: () => event({ timestamp: '2025-11-16T10:00:00-23:59' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'an offset without colon (+0100)', body: () => event({ timestamp: '2025-11-16T10:00:00+0100' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'a space instead of T', body: () => event({ timestamp: '2025-11-16 10:00:00Z' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'year 0001', body: () => event({ timestamp: '0001-01-01T00:00:00Z' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'year 9999', body: () => event({ timestamp: '9999-12-31T23:59:59Z' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'hour 24', body: () => event({ timestamp: '2025-11-16T24:00:00Z' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    { name: 'words', body: () => event({ timestamp: 'yesterday' }), status: 400, code: 'INVALID_EVENT', field: 'timestamp' },
    // Body shape.
    { name: 'an empty body', body: () => Buffer.alloc(0), status: 400, code: 'EMPTY_BODY' },
    { name: 'a whitespace-only body', body: () => Buffer.from(' \n\t '), status: 400, code: 'EMPTY_BODY' },
    { name: 'a top-level array', body: () => json([validEvent()]), status: 400, code: 'INVALID_EVENT', field: '(body)' },
    { name: 'a top-level string', body: () => json('site-abc-123'), status: 400, code: 'INVALID_EVENT', field: '(body)' },
    { name: 'a top-level null', body: () => Buffer.from('null'), status: 400, code: 'INVALID_EVENT', field: '(body)' },
    { name: 'truncated JSON', body: () => Buffer.from('{"site_id": "abc'), status: 400, code: 'INVALID_JSON' },
    { name: 'JSON with trailing garbage', body: () => Buffer.from(`${JSON.stringify(validEvent())} {}`), status: 400, code: 'INVALID_JSON' },
    { name: '5,000-deep nesting', body: () => Buffer.from(nested(5000)), status: 400, code: 'INVALID_EVENT', field: '(body)' },
    { name: '5,000-deep nesting inside a field', body: () => Buffer.from(JSON.stringify(validEvent()).replace('"/pricing"', nested(5000))), status: 400, code: 'INVALID_EVENT', field: 'path' },
    { name: '200,000-deep nesting', body: () => Buffer.from(nested(200_000)), status: 400, code: 'INVALID_EVENT', field: '(body)' },
    // Size and encoding at the HTTP edge.
    { name: 'a body one byte over the limit', body: () => padTo(validEvent(), limit() + 1), status: 413, code: 'BODY_TOO_LARGE' },
    { name: 'a gzip body over the limit once inflated', body: () => gzipSync(padTo(validEvent(), 4 * limit())), headers: { 'content-encoding': 'gzip' }, status: 413, code: 'BODY_TOO_LARGE' },
    { name: 'a body that is not gzip but says so', body: () => event({}), headers: { 'content-encoding': 'gzip' }, status: 400, code: 'BAD_REQUEST' },
    { name: 'an unsupported content encoding', body: () => event({}), headers: { 'content-encoding': 'compress' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'no content type', body: () => event({}), headers: { 'content-type': '' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'content type application/xml', body: () => event({}), headers: { 'content-type': 'application/xml' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a form body', body: () => Buffer.from('site_id=a'), headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'charset latin1', body: () => event({}), headers: { 'content-type': 'application/json; charset=latin1' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'charset utf-16 on text/plain', body: () => event({}), headers: { 'content-type': 'text/plain; charset=utf-16' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    // The batch endpoint.
    { name: 'a batch without events', path: '/events', body: () => json({}), status: 400, code: 'INVALID_EVENT', field: 'events' },
    { name: 'a batch whose events is an object', path: '/events', body: () => json({ events: validEvent() }), status: 400, code: 'INVALID_EVENT', field: 'events' },
    { name: 'an empty batch', path: '/events', body: () => json({ events: [] }), status: 400, code: 'INVALID_EVENT', field: 'events' },
    { name: 'a batch one event too many', path: '/events', body: () => json({ events: new Array(pipeline.config.INGEST_MAX_BATCH_EVENTS + 1).fill(validEvent()) }), status: 400, code: 'INVALID_EVENT', field: 'events' },
    { name: 'a batch with an unknown top-level key', path: '/events', body: () => json({ events: [validEvent()], site_id: 's' }), status: 400, code: 'INVALID_EVENT', field: 'site_id' },
    { name: 'a top-level array on /events', path: '/events', body: () => json([validEvent()]), status: 400, code: 'INVALID_EVENT', field: 'events' },
    { name: 'a batch nested 5,000 deep', path: '/events', body: () => Buffer.from(`{"events":${nested(5000)}}`), status: 400, code: 'INVALID_EVENT', field: 'events/0' },
    { name: 'a batch whose only event has a NUL', path: '/events', body: () => json({ events: [validEvent({ path: '\u0000' })] }), status: 400, code: 'INVALID_EVENT', field: 'events/0/path' },
  ];

  it('covers at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases.map((c) => [c.name, c] as const))('when a client sends %s, then it gets its exact 4xx', async (_name, c) => {
    const r = await send(`${pipeline.ingestUrl}${c.path ?? '/event'}`, c.body(), { 'content-type': 'application/json', ...c.headers });
    const { code, fields } = errorOf(r);
    expect({ status: r.status, code }).toEqual({ status: c.status, code: c.code });
    if (c.field !== undefined) expect(fields).toContain(c.field);
    expectSafeErrorAnswer(r);
  });

  it('when every event of a batch is invalid, then 400 with a result per item naming its field', async () => {
    const r = await send(`${pipeline.ingestUrl}/events`, json({ events: [validEvent({ path: 7 }), 'not an event', validEvent({ referrer: 'x' })] }));
    expect(r.status).toBe(400);
    expect(r.body.accepted).toBe(0);
    expect(r.body.results.map((x: ItemResult) => [x.index, x.status, x.error?.details?.[0]?.field])).toEqual([
      [0, 'rejected', 'events/0/path'],
      [1, 'rejected', 'events/1'],
      [2, 'rejected', 'events/2/referrer'],
    ]);
    expectSafeErrorAnswer(r);
  });

  it('when a tiny gzip body holds 500 invalid items, then the answer stays small: the first 10 errors and a count', async () => {
    const items = new Array(pipeline.config.INGEST_MAX_BATCH_EVENTS).fill({});
    const body = gzipSync(json({ events: items }), { level: 9 });
    expect(body.length).toBeLessThan(100);
    const r = await send(`${pipeline.ingestUrl}/events`, body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ accepted: 0, rejected: items.length, unlisted: items.length - 10 });
    expect(r.body.results.map((x: ItemResult) => x.index)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // A bound that does not grow with the batch (unbounded: ~270 KB); expectSafeErrorAnswer holds it under 8 KB.
    expectSafeErrorAnswer(r);
  });

  it('when an error is answered, then it is JSON with security headers and no x-powered-by', async () => {
    const r = await send(`${pipeline.ingestUrl}/no-such-route`, json({}));
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('x-powered-by')).toBeNull();
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('strict-transport-security')).not.toBeNull();
  });

  it('after all of that, nothing reached Kafka and the service still accepts a valid event', async () => {
    expect(await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC)).toBe(0);
    expect((await fetch(`${pipeline.ingestUrl}/healthz`)).status).toBe(200);
    const r = await send(`${pipeline.ingestUrl}/event`, json(validEvent()));
    expect(r.status).toBe(202);
    expect(await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC)).toBe(1);
  });

  describe('and accepts what sits right at the limits', () => {
    // Always three entries per row: jest passes a `done` callback to a test function with more parameters than its row.
    const accepted: [string, () => Buffer, Record<string, string>][] = [
      ['the seed example, a year in the past', () => json(validEvent()), {}],
      ['site_id and user_id of 255 astral characters', () => event({ site_id: astral(255), user_id: astral(255) }), {}],
      ['event_type of 50 characters and path of 2048 astral characters', () => event({ event_type: 'e'.repeat(50), path: astral(2048) }), {}],
      ['a body exactly at the limit', () => padTo(validEvent(), limit()), {}],
      ['a gzip body within the limit', () => gzipSync(json(validEvent())), { 'content-encoding': 'gzip' }],
      ['text/plain, as navigator.sendBeacon sends it', () => json(validEvent()), { 'content-type': 'text/plain;charset=UTF-8' }],
      ['a timestamp with an offset, fractions and lower-case letters', () => event({ timestamp: '2025-11-16t23:30:00.123456-05:00' }), {}],
      ['a timestamp an hour ahead (clock skew)', () => event({ timestamp: new Date(Date.now() + 3_600_000).toISOString() }), {}],
      ['a timestamp with nine fraction digits at the end of a day', () => event({ timestamp: '2025-11-16T23:59:59.999999999Z' }), {}],
      ['an offset of -15:59', () => event({ timestamp: '2025-11-16T10:00:00-15:59' }), {}],
      ['a path in NFD and a site_id with inner spaces', () => event({ path: '/cafe\u0301', site_id: 'my site' }), {}],
      ['a client-chosen event_id', () => event({ event_id: '0f8fad5b-d9cb-469f-a165-70867728950e' }), {}],
    ];
    it.each(accepted)('when a client sends %s, then 202', async (_name, body, headers) => {
      const r = await send(`${pipeline.ingestUrl}/event`, body(), { 'content-type': 'application/json', ...headers });
      expect(r.status).toBe(202);
      expect(r.body.event_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('when a batch mixes valid and invalid events, then 207 says which were accepted', async () => {
      const before = await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC);
      const r = await send(`${pipeline.ingestUrl}/events`, json({ events: [validEvent(), validEvent({ site_id: '\u0000' }), validEvent()] }));
      expect(r.status).toBe(207);
      expect(r.body).toMatchObject({ accepted: 2, rejected: 1 });
      expect(r.body.results.map((x: ItemResult) => x.status)).toEqual(['accepted', 'rejected', 'accepted']);
      expect(r.body.results[1].error.details[0].field).toBe('events/1/site_id');
      expect(await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC)).toBe(before + 2);
    });
  });
});

interface ItemResult {
  index: number;
  status: string;
  error?: { code?: string; details?: { field: string }[] };
}

/** The error of an answer: the body's own, or for a batch whose every event was refused, the per-item ones. */
function errorOf(r: Sent): { code: string | undefined; fields: string[] } {
  const errors: { code?: string; details?: { field: string }[] }[] = r.body?.error
    ? [r.body.error]
    : ((r.body?.results ?? []) as ItemResult[]).flatMap((x) => (x.error ? [x.error] : []));
  return { code: errors[0]?.code, fields: errors.flatMap((e) => (e.details ?? []).map((d) => d.field)) };
}

/** An error answer is JSON in the catalog's shape and leaks nothing of the server's insides. */
function expectSafeErrorAnswer(r: Sent): void {
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(r.headers.get('x-powered-by')).toBeNull();
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d|\.js:\d|stack/);
  expect(r.text.length).toBeLessThan(8192);
}

/** The event as JSON padded with trailing whitespace (still valid JSON) to exactly `bytes` bytes. */
function padTo(value: unknown, bytes: number): Buffer {
  const text = JSON.stringify(value);
  return Buffer.from(text + ' '.repeat(bytes - Buffer.byteLength(text)));
}
