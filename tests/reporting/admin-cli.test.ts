import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { checkApiKey } from '@sitestream/db';
import { decodeRecord, writeBatch } from '@sitestream/consumer';
import { createDevelopmentKey, statsExample } from '../../infra/src/admin/development-key';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

const CLI = resolve(__dirname, '..', '..', 'infra', 'dist', 'admin', 'cli.js');

/** The admin CLI as an operator runs it (the compiled entry point of `npm run admin`), against a test database. */
describe('admin CLI', () => {
  let database: TestDatabase;
  const admin = (...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((done) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: database.url } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => done({ code, out, err }));
    });

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.each(['', 'keys', 'keys create', 'keys list', 'keys revoke', 'sites', 'sites set-timezone', 'sites list', 'rollups', 'rollups rebuild'])(
    'admin %s --help explains the command',
    async (command) => {
      const r = await admin(...command.split(' ').filter(Boolean), '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: admin${command ? ` ${command}` : ''}`);
    },
  );

  it('creates a scoped, expiring key, prints it once, lists it without the secret, and revokes it', async () => {
    const created = await admin('keys', 'create', '--site', 'site-a', '--site', 'site-b', '--expires', '30d', '--name', 'analyst');
    expect(created.code).toBe(0);
    const key = created.out.trim();
    expect(key).toMatch(/^ss_live_[A-Za-z0-9_-]{32}$/);
    expect(created.err).toContain('not shown again');
    const check = await checkApiKey(database.db, key);
    expect(check.ok && check.key.siteIds).toEqual(['site-a', 'site-b']);
    expect(check.ok && check.key.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const listed = await admin('keys', 'list', '--json');
    expect(listed.code).toBe(0);
    expect(listed.out).not.toContain(key.slice(16));
    expect(JSON.parse(listed.out.trim())).toMatchObject({ prefix: key.slice(0, 16), name: 'analyst', sites: ['site-a', 'site-b'], status: 'active' });

    expect((await admin('keys', 'revoke', key.slice(0, 16))).code).toBe(0);
    expect(await checkApiKey(database.db, key)).toEqual({ ok: false, reason: 'revoked' });
    expect(JSON.parse((await admin('keys', 'list', '--json')).out.trim()).status).toBe('revoked');
  });

  it('refuses what it cannot do, with a non-zero exit', async () => {
    // Six independent processes, side by side: one after another they took over 60 s on a loaded 2-core machine.
    const refusals = [
      ['keys', 'create'],
      ['keys', 'create', '--all-sites', '--expires', 'yesterday'],
      ['keys', 'revoke', 'ss_live_nosuchkey'],
      ['sites', 'set-timezone', 'site-a', 'Mars/Olympus'],
      ['rollups', 'rebuild', '--from', '2025-11-01'],
      ['rollups', 'rebuild', '--from', '2025-13-01', '--to', '2025-12-01'],
    ];
    const codes = await Promise.all(refusals.map(async (args) => ({ args: args.join(' '), refused: (await admin(...args)).code !== 0 })));
    expect(codes).toEqual(refusals.map((args) => ({ args: args.join(' '), refused: true })));
  }, 120_000);

  it('sets a time zone with a rebuild, and rebuilds rollups on demand', async () => {
    const e = { event_id: randomUUID(), site_id: 'site-tz', event_type: 'page_view', path: '/', user_id: 'u', timestamp: '2025-11-15T20:00:00Z', received_at: '2025-11-15T20:00:01Z' };
    await writeBatch(database.db, { group: 'g', topic: 't', partition: 0, records: [decodeRecord('0', Buffer.from(JSON.stringify(e)))] });
    const day = async () => (await database.db.raw<{ rows: { day: string }[] }>("SELECT to_char(day, 'YYYY-MM-DD') AS day FROM analytics.daily_user_counts WHERE site_id = 'site-tz'")).rows.map((r) => r.day);
    expect(await day()).toEqual(['2025-11-15']);
    const set = await admin('sites', 'set-timezone', 'site-tz', 'Asia/Kolkata');
    expect(set.code).toBe(0);
    expect(set.out).toContain('UTC -> Asia/Kolkata; rollups rebuilt from 1 events');
    expect(await day()).toEqual(['2025-11-16']);
    expect((await admin('sites', 'list')).out).toContain('site-tz  Asia/Kolkata');
    await database.db.raw("DELETE FROM analytics.daily_user_counts WHERE site_id = 'site-tz'");
    const rebuilt = await admin('rollups', 'rebuild', '--site', 'site-tz');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toMatch(/^rebuilt 1 sites from 1 events/);
    expect(await day()).toEqual(['2025-11-16']);
  });

  it("npm start's development key reads every site, and each start replaces the previous one", async () => {
    const first = await createDevelopmentKey(database.db);
    const second = await createDevelopmentKey(database.db);
    expect(await checkApiKey(database.db, first)).toEqual({ ok: false, reason: 'revoked' });
    const check = await checkApiKey(database.db, second);
    expect(check.ok && check.key.siteIds).toBeNull();
    expect(statsExample(second, 8001)).toContain(`curl -H "Authorization: Bearer ${second}" "http://localhost:8001/stats?site_id=site-abc-123&date=2025-11-16"`);
    expect(statsExample(second, 8001)).toContain('Dashboard: http://localhost:8001/ (sign in with the key above)');
  });
});
