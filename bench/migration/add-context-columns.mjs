// Measures migration 005 (issue 12) on a big analytics.website_events: builds a scratch database with
// migrations 001–004, fills it with ROWS rows (default 10M), then times 005 and checks that the table was not
// rewritten (same relfilenode, same size). Run after `npx tsc -b`:
//   node bench/migration/add-context-columns.mjs [rows]
// It creates and drops its own database (sitestream_bench_migration_004) on DATABASE_URL's server.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const knexLib = require('knex');
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/sitestream';
const rows = Number(process.argv[2] ?? 10_000_000);
const name = 'sitestream_bench_migration_004';
const url = (db) => Object.assign(new URL(base), { pathname: `/${db}` }).toString();

const admin = knexLib({ client: 'pg', connection: url('postgres') });
await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
await admin.raw(`CREATE DATABASE ${name}`);
const db = knexLib({ client: 'pg', connection: url(name), pool: { min: 1, max: 2 } });
try {
  for (const m of ['001_website_events', '002_sites_and_rollups', '003_api_keys', '004_dead_letter_outbox']) await require(`../../shared/db/dist/migrations/${m}.js`).up(db);
  let t = Date.now();
  await db.raw(`
    INSERT INTO analytics.website_events (site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset)
    SELECT 'site-' || (i % 50), CASE WHEN i % 5 = 0 THEN 'click' ELSE 'page_view' END, '/p/' || (i % 5000), 'u-' || (i % 200000),
           timestamptz '2025-01-01' + (i || ' seconds')::interval, gen_random_uuid(), now(), i % 6, i
    FROM generate_series(1, ?) AS i`, [rows]);
  await db.raw('VACUUM ANALYZE analytics.website_events');
  console.log(`filled ${rows} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const facts = async () => (await db.raw(`SELECT pg_relation_filenode('analytics.website_events') AS filenode,
      pg_total_relation_size('analytics.website_events') AS bytes`)).rows[0];
  const before = await facts();
  const m004 = require('../../shared/db/dist/migrations/005_event_context.js');
  const runs = [];
  for (let i = 0; i < 3; i++) {
    t = process.hrtime.bigint();
    await db.transaction((trx) => m004.up(trx));
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
    const after = await facts();
    console.log(`005 up: ${runs.at(-1).toFixed(1)} ms; filenode ${before.filenode} → ${after.filenode}; size ${before.bytes} → ${after.bytes} bytes`);
    if (i < 2) await db.transaction((trx) => m004.down(trx));
  }
  const sample = (await db.raw('SELECT count(*) FILTER (WHERE source IS NULL) AS nulls, count(*) AS total FROM analytics.website_events')).rows[0];
  console.log(`rows after: ${sample.total}, context NULL in ${sample.nulls}`);
} finally {
  await db.destroy();
  await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
  await admin.destroy();
}
