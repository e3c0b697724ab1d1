import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { elapsed } from '../reporting/lib/measure';

const COLUMNS = 'site_id, event_type, path, user_id, "timestamp", event_id, received_at, kafka_partition, kafka_offset';

export interface CopyResult {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

/**
 * The write ceiling: the same rows the consumer stored, COPYed in one transaction into a scratch table —
 * `plain`: the same columns and nothing else; `indexed`: shaped like analytics.website_events, with its
 * identity, unique (site_id, event_id) and (site_id, "timestamp") indexes. Returns rows/s.
 */
export async function copyCeiling(url: string, maxRows: number, shape: 'plain' | 'indexed'): Promise<CopyResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(copyTo(`COPY (SELECT ${COLUMNS} FROM analytics.website_events ORDER BY id LIMIT ${Math.floor(maxRows)}) TO STDOUT`)),
      new Writable({ write: (chunk: Buffer, _enc, done) => (chunks.push(chunk), done()) }),
    );
    await client.query('DROP TABLE IF EXISTS public.bench_copy');
    await client.query(
      shape === 'indexed'
        ? 'CREATE TABLE public.bench_copy (LIKE analytics.website_events INCLUDING ALL)'
        : `CREATE TABLE public.bench_copy AS SELECT ${COLUMNS} FROM analytics.website_events WITH NO DATA`,
    );
    const started = process.hrtime.bigint();
    await client.query('BEGIN');
    const copy = client.query(copyFrom(`COPY public.bench_copy (${COLUMNS}) FROM STDIN`));
    await pipeline(Readable.from(chunks), copy);
    await client.query('COMMIT');
    const seconds = elapsed(started) / 1000;
    const rows = Number((await client.query('SELECT count(*) AS n FROM public.bench_copy')).rows[0].n);
    await client.query('DROP TABLE public.bench_copy');
    return { rows, seconds, rowsPerSecond: rows / seconds };
  } finally {
    await client.end();
  }
}

/**
 * The same rows as copyCeiling's indexed table, written the way the consumer writes its raw rows: one transaction
 * per batch of `batch` rows, `INSERT … SELECT FROM unnest(arrays) ON CONFLICT (site_id, event_id) DO NOTHING` (the
 * exactly-once dedup COPY cannot do), one connection — no rollups, no visits. Its ratio to the indexed COPY is what
 * the statement shape alone costs; the consumer's further distance is its other tables (BENCHMARKS.md, issue 16).
 */
export async function insertCeiling(url: string, maxRows: number, batch = 1000): Promise<CopyResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const source = await client.query({
      text: `SELECT site_id, event_type, path, user_id, "timestamp"::text AS ts, event_id::text AS event_id, received_at::text AS received_at, kafka_partition, kafka_offset
             FROM analytics.website_events ORDER BY id LIMIT ${Math.floor(maxRows)}`,
      rowMode: 'array',
    });
    const rows = source.rows as unknown[][];
    await client.query('DROP TABLE IF EXISTS public.bench_insert');
    await client.query('CREATE TABLE public.bench_insert (LIKE analytics.website_events INCLUDING ALL)');
    const started = process.hrtime.bigint();
    for (let i = 0; i < rows.length; i += batch) {
      const chunk = rows.slice(i, i + batch);
      const column = (c: number) => chunk.map((r) => r[c]);
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO public.bench_insert (${COLUMNS})
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[], $7::timestamptz[], $8::int[], $9::bigint[])
         ON CONFLICT (site_id, event_id) DO NOTHING`,
        [0, 1, 2, 3, 4, 5, 6, 7, 8].map(column),
      );
      await client.query('COMMIT');
    }
    const seconds = elapsed(started) / 1000;
    const stored = Number((await client.query('SELECT count(*) AS n FROM public.bench_insert')).rows[0].n);
    await client.query('DROP TABLE public.bench_insert');
    return { rows: stored, seconds, rowsPerSecond: stored / seconds };
  } finally {
    await client.end();
  }
}
