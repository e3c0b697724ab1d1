import fc from 'fast-check';
import pg from 'pg';
import { validateEventInput } from '@sitestream/shared';

/**
 * Ingest's reading of `timestamp` against PostgreSQL's own, the model that decides what can be stored: for random
 * RFC 3339-shaped strings (offsets up to ±23:59, fractions up to 9 digits, impossible dates and times among them),
 * - what PostgreSQL refuses, ingest refuses (else: 202, then a dead letter);
 * - what ingest accepts, PostgreSQL reads as the same instant (to the millisecond V8 keeps) on the same UTC day.
 * Ingest may refuse more (before 1970, leap seconds), never less.
 */
describe('timestamps as ingest and PostgreSQL read them', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await client.connect();
    await client.query("SET TimeZone = 'UTC'");
  });
  afterAll(async () => {
    await client?.end();
  });

  const policy = { maxFutureMs: Date.UTC(2100, 0, 1) };
  const base = { site_id: 's', event_type: 'page_view', path: '/', user_id: 'u' };

  /** PostgreSQL's reading: the UTC day and microseconds since the epoch, or undefined when it refuses. */
  async function postgresReads(ts: string): Promise<{ day: string; micros: bigint } | undefined> {
    try {
      const { rows } = await client.query<{ day: string; micros: string }>(
        `SELECT to_char($1::timestamptz, 'YYYY-MM-DD') AS day,
                (extract(epoch FROM $1::timestamptz) * 1000000)::numeric(30,0)::text AS micros`,
        [ts],
      );
      return { day: rows[0]!.day, micros: BigInt(rows[0]!.micros) };
    } catch (err) {
      if (!/^22/.test(String((err as { code?: string }).code))) throw err;
      return undefined;
    }
  }

  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const timestamp = fc
    .record({
      year: fc.integer({ min: 1969, max: 2099 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 24 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constant(59), fc.constant(60)),
      fraction: fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/), fc.constantFrom('.9999995', '.999999999', '.0000005')),
      t: fc.constantFrom('T', 't'),
      offset: fc.oneof(
        fc.constantFrom('Z', 'z'),
        fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }) }).map((o) => `${o.sign}${pad(o.h)}:${pad(o.m)}`),
        fc.constantFrom('+15:59', '-15:59', '+16:00', '-16:00', '+23:59'),
      ),
    })
    .map((p) => `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}${p.t}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction}${p.offset}`);

  it('refuses whatever PostgreSQL refuses, and reads what it accepts as PostgreSQL does', async () => {
    await fc.assert(
      fc.asyncProperty(timestamp, async (ts) => {
        const ingest = validateEventInput({ ...base, timestamp: ts }, policy);
        const original = await postgresReads(ts);
        if (!ingest.ok) {
          // Refusing more than PostgreSQL is allowed only for these rules of ingest's own.
          if (original) expect(/:60(\.|[Zz+-])/.test(ts) || Number(original.micros / 1000n) < 0).toBe(true);
          return;
        }
        expect(original).toBeDefined();
        const stored = await postgresReads(ingest.value.timestamp);
        expect(stored).toBeDefined();
        const ms = Date.parse(ingest.value.timestamp);
        expect(new Date(ms).toISOString().slice(0, 10)).toBe(stored!.day);
        expect(BigInt(ms)).toBe(stored!.micros / 1000n);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['2025-11-16T23:59:59.9999995Z', '2025-11-16'],
    ['2025-11-16T23:59:59.999999999Z', '2025-11-16'],
    ['2025-11-16T00:00:00+15:59', '2025-11-15'],
  ])('reads %s on %s, in both', async (ts, day) => {
    const ingest = validateEventInput({ ...base, timestamp: ts }, policy);
    expect(ingest.ok).toBe(true);
    if (!ingest.ok) return;
    expect(new Date(Date.parse(ingest.value.timestamp)).toISOString().slice(0, 10)).toBe(day);
    expect((await postgresReads(ingest.value.timestamp))?.day).toBe(day);
  });

  it.each(['2025-11-16T10:00:00+16:00', '2025-11-16T10:00:00-16:00', '2025-11-16T10:00:00+23:59'])('refuses %s, as PostgreSQL does', async (ts) => {
    expect(await postgresReads(ts)).toBeUndefined();
    expect(validateEventInput({ ...base, timestamp: ts }, policy).ok).toBe(false);
  });
});
