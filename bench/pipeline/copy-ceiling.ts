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
