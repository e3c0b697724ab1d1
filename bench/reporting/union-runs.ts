import pg from 'pg';
import { tuneReportingSession } from '@sitestream/db';
import { buildRollupQuery, parseQueryParams, UNION_RUN_DAYS } from '@sitestream/reporting';
import { benchDatabaseUrl } from './lib/bench-db';
import { elapsed, loadLine, machineLine, median, ms } from './lib/measure';

/*
 * Visitors over many rolled-up days are a union of per-day visitor sets, taken in two levels (query-rollup-sql.ts:
 * runs of UNION_RUN_DAYS days, then the runs). This measures the statement the API sends for a 30-day breakdown
 * with other run lengths — a length ≥ the range's days is the one-level union — on the 10m bench database (built by
 * `npm run bench:reporting`), in one session with reporting's settings, the lengths taken in turn so that each
 * sees the same machine. Usage: node bench/reporting/dist/union-runs.js [dimensions] [lengths] [repetitions]
 */
async function main(): Promise<void> {
  const dimensions = (process.argv[2] ?? 'event:page,visit:referrer,visit:exit_page,visit:source').split(',');
  const lengths = (process.argv[3] ?? `30,${UNION_RUN_DAYS},3,10`).split(',').map(Number);
  const repetitions = Number(process.argv[4] ?? 5);
  const [from, to] = ['2025-10-01', '2025-10-30'];
  console.log(`machine: ${machineLine()}\nstart: ${loadLine()}`);
  const client = new pg.Client({ connectionString: benchDatabaseUrl('sitestream_bench_reporting_10m') });
  await client.connect();
  try {
    await tuneReportingSession(client);
    console.log(`| dimension (${from} … ${to}) | ${lengths.map((l) => `runs of ${l} days: median (min) ms`).join(' | ')} |`);
    console.log(`|---|${lengths.map(() => '---').join('|')}|`);
    for (const dimension of dimensions) {
      const q = parseQueryParams({ site_id: 'big-site', metrics: ['visitors', 'pageviews'], date_range: [from, to], dimensions: [dimension], pagination: { limit: 100 } });
      const times = new Map<number, number[]>(lengths.map((l) => [l, []]));
      const answers = new Map<number, string>();
      for (let i = 0; i < repetitions; i++) {
        for (const length of lengths) {
          const statement = buildRollupQuery(q, 'big-site', 'UTC', { from, to }, { limit: 100, offset: 0 }, length);
          const started = process.hrtime.bigint();
          const { rows } = await client.query<{ valid: boolean; rows: unknown[] }>(statement);
          times.get(length)!.push(elapsed(started));
          if (!rows[0]!.valid) throw new Error(`${dimension}: the days are not all built (run npm run bench:reporting first)`);
          answers.set(length, JSON.stringify(rows[0]!.rows));
        }
      }
      if (new Set(answers.values()).size !== 1) throw new Error(`${dimension}: the run lengths gave different answers`);
      console.log(`| ${dimension} | ${lengths.map((l) => `${ms(median(times.get(l)!))} (${ms(Math.min(...times.get(l)!))})`).join(' | ')} |`);
    }
  } finally {
    await client.end();
  }
  console.log(`end: ${loadLine()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
