import pg from 'pg';
import { tuneReportingSession } from '@sitestream/db';
import { buildRollupQuery, parseQueryParams } from '@sitestream/reporting';
import { benchDatabaseUrl } from './lib/bench-db';
import { elapsed, median, ms, runBench } from './lib/measure';

/*
 * Visitors over many rolled-up days are a union of visitor sets (query-rollup-sql.ts): of the spans of days
 * (query-spans.ts) that cover the range, and of the days no span covers, those in two levels (runs of days, then
 * the runs). This measures the statement the API sends for a breakdown over the range with each variant — `spans`
 * (the API's), or the days alone in runs of N days (`N`; N ≥ the range's days is the one-level union) — on the 10m
 * bench database (built by `npm run bench:reporting`), in one session with reporting's settings, the variants
 * taken in turn so that each sees the same machine, and checks they all answer the same.
 * Usage: node bench/reporting/dist/union-runs.js [dimensions] [variants] [repetitions] [from] [to]
 */
async function main(): Promise<void> {
  const dimensions = (process.argv[2] ?? 'event:page,visit:referrer,visit:exit_page,visit:source').split(',');
  const variants = (process.argv[3] ?? 'spans,6,30').split(',');
  const repetitions = Number(process.argv[4] ?? 5);
  const [from, to] = [process.argv[5] ?? '2025-10-01', process.argv[6] ?? '2025-10-30'];
  const client = new pg.Client({ connectionString: benchDatabaseUrl('sitestream_bench_reporting_10m') });
  await client.connect();
  const label = (v: string) => (v === 'spans' ? 'spans + edge days (the API)' : `days only, runs of ${v}`);
  try {
    await tuneReportingSession(client);
    console.log(`| dimension (${from} … ${to}) | ${variants.map((v) => `${label(v)}: median (min) ms`).join(' | ')} |`);
    console.log(`|---|${variants.map(() => '---').join('|')}|`);
    for (const dimension of dimensions) {
      const q = parseQueryParams({ site_id: 'big-site', metrics: ['visitors', 'pageviews'], date_range: [from, to], dimensions: dimension ? [dimension] : [], pagination: { limit: 100 } });
      const times = new Map<string, number[]>(variants.map((v) => [v, []]));
      const answers = new Map<string, string>();
      for (let i = 0; i < repetitions; i++) {
        for (const variant of variants) {
          const union = variant === 'spans' ? {} : { runDays: Number(variant), spans: false };
          const statement = buildRollupQuery(q, 'big-site', 'UTC', { from, to }, { limit: 100, offset: 0 }, union);
          const started = process.hrtime.bigint();
          const { rows } = await client.query<{ valid: boolean; rows: unknown[] }>(statement);
          times.get(variant)!.push(elapsed(started));
          if (!rows[0]!.valid) throw new Error(`${dimension}: the days are not all built (run npm run bench:reporting first)`);
          answers.set(variant, JSON.stringify(rows[0]!.rows));
        }
      }
      if (new Set(answers.values()).size !== 1) throw new Error(`${dimension}: the variants gave different answers`);
      console.log(`| ${dimension || '(none)'} | ${variants.map((v) => `${ms(median(times.get(v)!))} (${ms(Math.min(...times.get(v)!))})`).join(' | ')} |`);
    }
  } finally {
    await client.end();
  }
}

runBench(main);
