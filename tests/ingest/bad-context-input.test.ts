import { topicRecordCount } from '../helpers/kafka';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { send, validEvent } from './http';

/**
 * The context fields of issue 12 (referrer, hostname, utm_*, props, user_agent, ip) at and past their limits,
 * through real HTTP: each bad one is a 400 naming the field (a bad prop by its key), nothing reaches Kafka;
 * each value right at a limit is accepted. Limits are written out here, not read from the code under test.
 */
describe('ingest checks the context fields of an event', () => {
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
  const manyProps = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  /** An http URL of exactly n code points. */
  const urlOf = (n: number) => `https://example.com/${'a'.repeat(n - 'https://example.com/'.length)}`;
  const rawWith = (key: string, value: string) => Buffer.from(JSON.stringify(validEvent()).replace('{', `{"${key}":${value},`));

  const bad: [string, () => Buffer, string][] = [
    // referrer
    ['a referrer that is not a URL', () => event({ referrer: 'google' }), 'referrer'],
    ['a relative referrer', () => event({ referrer: '/pricing' }), 'referrer'],
    ['an ftp referrer', () => event({ referrer: 'ftp://example.com/x' }), 'referrer'],
    ['a javascript: referrer', () => event({ referrer: 'javascript:alert(1)' }), 'referrer'],
    ['a referrer of 2049 code points', () => event({ referrer: urlOf(2049) }), 'referrer'],
    ['a referrer with a newline', () => event({ referrer: 'https://example.com/\n' }), 'referrer'],
    ['a number referrer', () => event({ referrer: 7 }), 'referrer'],
    // hostname
    ['an upper-case hostname', () => event({ hostname: 'Shop.Example.com' }), 'hostname'],
    ['a hostname with a port', () => event({ hostname: 'shop.example.com:8080' }), 'hostname'],
    ['a hostname with an empty label', () => event({ hostname: 'shop..example.com' }), 'hostname'],
    ['a hostname with a space', () => event({ hostname: 'shop example.com' }), 'hostname'],
    ['a URL as hostname', () => event({ hostname: 'https://shop.example.com' }), 'hostname'],
    ['a hostname of 254 characters', () => event({ hostname: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}` }), 'hostname'],
    ['a hostname label of 64 characters', () => event({ hostname: `${'a'.repeat(64)}.com` }), 'hostname'],
    ['an empty hostname', () => event({ hostname: '' }), 'hostname'],
    // utm_*
    ['a utm_source of 256 astral characters', () => event({ utm_source: astral(256) }), 'utm_source'],
    ['a utm_medium with a NUL', () => event({ utm_medium: 'cpc\u0000' }), 'utm_medium'],
    ['an empty utm_campaign', () => event({ utm_campaign: '' }), 'utm_campaign'],
    ['a number utm_term', () => event({ utm_term: 5 }), 'utm_term'],
    ['a utm_content with a lone surrogate', () => event({ utm_content: 'a\ud800' }), 'utm_content'],
    ['an unknown utm_ field', () => event({ utm_id: 'x' }), 'utm_id'],
    // props
    ['props as an array', () => event({ props: ['pro'] }), 'props'],
    ['props as a string', () => event({ props: 'plan=pro' }), 'props'],
    ['props null', () => event({ props: null }), 'props'],
    ['31 props', () => event({ props: manyProps(31) }), 'props'],
    ['a null prop value', () => event({ props: { plan: null } }), 'props/plan'],
    ['an array prop value', () => event({ props: { plans: ['a'] } }), 'props/plans'],
    ['an object prop value', () => event({ props: { plan: { name: 'pro' } } }), 'props/plan'],
    ['a prop value of 2001 astral characters', () => event({ props: { note: astral(2001) } }), 'props/note'],
    ['a prop value with a control character', () => event({ props: { note: 'a\u0007' } }), 'props/note'],
    ['a prop value with a lone surrogate', () => event({ props: { note: '\udc00' } }), 'props/note'],
    ['a prop number that overflows to Infinity', () => rawWith('props', '{"n":1e400}'), 'props/n'],
    ['an empty prop key', () => event({ props: { '': 1 } }), 'props/""'],
    ['a prop key of 301 characters', () => event({ props: { ['k'.repeat(301)]: 1 } }), `props/${'k'.repeat(64)}`],
    ['a prop key with a newline', () => event({ props: { 'a\nb': 1 } }), 'props/a\nb'],
    ['a __proto__ prop key', () => rawWith('props', '{"__proto__":{"admin":true}}'), 'props/__proto__'],
    ['a constructor prop key', () => event({ props: { constructor: 'x' } }), 'props/constructor'],
    ['a prototype prop key', () => event({ props: { prototype: 'x' } }), 'props/prototype'],
    // user_agent and ip
    ['a user_agent of 1025 characters', () => event({ user_agent: `Mozilla/5.0 ${'x'.repeat(1013)}` }), 'user_agent'],
    ['an empty user_agent', () => event({ user_agent: '' }), 'user_agent'],
    ['a user_agent with a newline', () => event({ user_agent: 'Mozilla/5.0\r\nX-Evil: 1' }), 'user_agent'],
    ['an ip that is a hostname', () => event({ ip: 'example.com' }), 'ip'],
    ['an ip with an octet over 255', () => event({ ip: '256.1.1.1' }), 'ip'],
    ['an ip with a port', () => event({ ip: '8.8.8.8:443' }), 'ip'],
    ['an IPv6 ip with a zone id', () => event({ ip: 'fe80::1%eth0' }), 'ip'],
    ['an ip in brackets', () => event({ ip: '[2001:db8::1]' }), 'ip'],
    ['a number ip', () => event({ ip: 134744072 }), 'ip'],
    // Derived fields are ingest's to write, never the client's.
    ['a country field', () => event({ country: 'US' }), 'country'],
    ['a browser field', () => event({ browser: 'Chrome' }), 'browser'],
    ['a source field', () => event({ source: 'google.com' }), 'source'],
  ];

  it.each(bad)('when a client sends %s, then 400 INVALID_EVENT names the field', async (_name, body, field) => {
    const r = await send(`${pipeline.ingestUrl}/event`, body());
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_EVENT');
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(r.text).not.toMatch(/\n\s+at |node_modules|stack/);
  });

  it('when a batch item has a bad context field, then only that item is refused, named by position', async () => {
    const r = await send(`${pipeline.ingestUrl}/events`, json({ events: [validEvent({ props: { plan: 'pro' } }), validEvent({ props: { plan: [1] } })] }));
    expect(r.status).toBe(207);
    expect(r.body.results[1].error.details[0].field).toBe('events/1/props/plan');
  });

  it('after all the bad ones, only the one valid item of the batch reached Kafka', async () => {
    expect(await topicRecordCount(pipeline.config, pipeline.config.KAFKA_TOPIC)).toBe(1);
  });

  const atLimits: [string, () => Buffer, string][] = [
    ['a referrer of exactly 2048 code points', () => event({ referrer: urlOf(2048) }), ''],
    ['an empty referrer (none)', () => event({ referrer: '' }), ''],
    ['a hostname of exactly 253 characters', () => event({ hostname: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}` }), ''],
    ['a hostname with digits, hyphens and underscores', () => event({ hostname: 'my_shop-2.example.co.uk' }), ''],
    ['utm_* of 255 astral characters each', () => event(Object.fromEntries(['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'].map((k) => [k, astral(255)]))), ''],
    ['30 props', () => event({ props: manyProps(30) }), ''],
    ['a prop key of 300 and a value of 2000 astral characters', () => event({ props: { [astral(300)]: astral(2000) } }), ''],
    ['prop values of every allowed type', () => event({ props: { s: '', n: -1.5e300, i: 0, t: true, f: false } }), ''],
    ['empty props', () => event({ props: {} }), ''],
    ['a user_agent of 1024 characters', () => event({ user_agent: `Mozilla/5.0 ${'x'.repeat(1012)}` }), ''],
    ['an IPv6 ip written in full with an IPv4 tail', () => event({ ip: '0000:0000:0000:0000:0000:ffff:255.255.255.255' }), ''],
  ];
  it.each(atLimits)('when a client sends %s, then 202', async (_name, body) => {
    const r = await send(`${pipeline.ingestUrl}/event`, body());
    // 202 either way: valid (a padded agent may read as a bot's, which is answered "ignored").
    expect(r.status).toBe(202);
  });
});
