// The unique index (site_id, event_id) with random (v4) vs time-ordered (v7) event ids (issue 16, "index
// locality"): two scratch tables shaped like that index's key, each pre-filled with ROWS rows (default 10M, 500
// sites) and indexed, then the same number of new rows inserted into each the way the consumer does (batches of
// 1,000 through unnest … ON CONFLICT (site_id, event_id) DO NOTHING), alternating v4 and v7 rounds. Prints rows/s,
// WAL bytes per row and the index's size. Run after `npm ci`:
//   node bench/uuid-index/event-id-locality.mjs [rows] [new rows per round] [rounds]
// It creates and drops its own database (sitestream_bench_write_uuid) on DATABASE_URL's server.
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
const require = createRequire(import.meta.url);
const knexLib = require('knex');
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const rows = Number(process.argv[2] ?? 10_000_000);
const perRound = Number(process.argv[3] ?? 500_000);
const rounds = Number(process.argv[4] ?? 2);
const SITES = 500;
const BATCH = 1000;
const name = 'sitestream_bench_write_uuid';
const url = (db) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, 74 random bits (what ingest is to assign). */
function uuidV7(ms) {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; start: load average ${load()}`);
const admin = knexLib({ client: 'pg', connection: url('postgres') });
await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
await admin.raw(`CREATE DATABASE ${name}`);
const db = knexLib({ client: 'pg', connection: url(name), pool: { min: 1, max: 1 } });
try {
  // In SQL for the pre-fill: v7 from a timestamp (its first 6 bytes), the version nibble 4 → 7 (bits 52 and 53).
  await db.raw(`CREATE FUNCTION uuid_v7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
      PLACING substring(int8send((extract(epoch FROM ts) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid $$`);
  const started = Date.now() - rows / 10; // the pre-filled ids are older than the new ones: 10 per ms before now
  for (const kind of ['v4', 'v7']) {
    let t = Date.now();
    await db.raw(`CREATE TABLE ids_${kind} (site_id VARCHAR(255) NOT NULL, event_id UUID NOT NULL)`);
    const id = kind === 'v4' ? 'gen_random_uuid()' : `uuid_v7(to_timestamp(${started / 1000}) + (i / 10) * interval '1 millisecond')`;
    await db.raw(`INSERT INTO ids_${kind} SELECT 'site-' || (i::bigint * 7919 % ${SITES}), ${id} FROM generate_series(1, ?) AS i`, [rows]);
    await db.raw(`CREATE UNIQUE INDEX ids_${kind}_uq ON ids_${kind} (site_id, event_id)`);
    await db.raw(`VACUUM ANALYZE ids_${kind}`);
    console.log(`${kind}: filled and indexed ${rows} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  await db.raw('CHECKPOINT');
  const results = { v4: [], v7: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['v4', 'v7']) {
      const lsn = async () => (await db.raw('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
      const walFrom = await lsn();
      const t = process.hrtime.bigint();
      for (let done = 0; done < perRound; done += BATCH) {
        const sites = [];
        const ids = [];
        for (let i = 0; i < BATCH; i++) {
          sites.push(`site-${Math.floor(Math.random() * SITES)}`);
          ids.push(kind === 'v4' ? randomUUID() : uuidV7(Date.now()));
        }
        await db.raw(`INSERT INTO ids_${kind} SELECT * FROM unnest(?::text[], ?::uuid[]) ON CONFLICT (site_id, event_id) DO NOTHING`, [sites, ids]);
      }
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      const wal = Number((await db.raw('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ?) AS d', [walFrom])).rows[0].d);
      const size = Number((await db.raw(`SELECT pg_relation_size('ids_${kind}_uq') AS s`)).rows[0].s);
      results[kind].push(perRound / seconds);
      console.log(`round ${round} ${kind}: ${perRound} rows in ${seconds.toFixed(1)} s = ${Math.round(perRound / seconds)} rows/s; WAL ${Math.round(wal / perRound)} bytes/row; index ${(size / 2 ** 20).toFixed(0)} MiB`);
    }
  }
  const best = (a) => Math.round(Math.max(...a));
  console.log(`v4 ${best(results.v4)} rows/s, v7 ${best(results.v7)} rows/s (best round each): v7 ÷ v4 ${(Math.max(...results.v7) / Math.max(...results.v4)).toFixed(2)}`);
} finally {
  await db.destroy();
  await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
  await admin.destroy();
  console.log(`end: load average ${load()}`);
}
