import pg from 'pg';
import { tuneReportingSession } from '@sitestream/db';
import { buildFactsQuery, filterIdsQuery, parseQueryParams } from '@sitestream/reporting';
import { BENCH_FILTERS } from './naive-queries';
import { benchDatabaseUrl } from './lib/bench-db';
import { elapsed, median, ms, runBench } from './lib/measure';

/*
 * The facts' country index (migration 014) against its absence: the 30-day facts statement the API sends under
 * the bench's filter (country + page), with the index (after) and with it dropped inside a transaction that is
 * rolled back (before: the plan of a table without it), alternated, on the 10m bench database; checks both answer
 * the same. Usage: node bench/reporting/dist/country-index.js [dimensions] [repetitions]
 */
async function main(): Promise<void> {
  const dimensions = (process.argv[2] ?? 'event:page,visit:referrer,event:props:author,visit:exit_page').split(',');
  const repetitions = Number(process.argv[3] ?? 5);
  const period = { from: '2025-10-01', to: '2025-10-30' };
  const client = new pg.Client({ connectionString: benchDatabaseUrl('sitestream_bench_reporting_10m') });
  await client.connect();
  try {
    await tuneReportingSession(client);
    console.log(`| dimension, ${period.from} … ${period.to}, country + page | index dropped: median (min) ms | index used: median (min) ms |\n|---|---|---|`);
    for (const dimension of dimensions) {
      const q = parseQueryParams({ site_id: 'big-site', metrics: ['visitors', 'pageviews'], date_range: [period.from, period.to], dimensions: [dimension], filters: BENCH_FILTERS, pagination: { limit: 100 } });
      const { ids } = (await client.query<{ ids: number[][] }>(filterIdsQuery(q, 'big-site'))).rows[0]!;
      const statement = buildFactsQuery(q, 'big-site', 'UTC', period, { limit: 100, offset: 0 }, ids);
      const times = { before: [] as number[], after: [] as number[] };
      const answers = new Set<string>();
      for (let i = 0; i < repetitions; i++) {
        for (const variant of i % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
          await client.query('BEGIN');
          if (variant === 'before') await client.query('DROP INDEX analytics.query_facts_site_country_day_idx');
          const started = process.hrtime.bigint();
          const { rows } = await client.query<{ rows: unknown[] }>(statement);
          times[variant].push(elapsed(started));
          await client.query('ROLLBACK');
          answers.add(JSON.stringify(rows[0]!.rows));
        }
      }
      if (answers.size !== 1) throw new Error(`${dimension}: different answers with and without the index`);
      const cell = (t: number[]) => `${ms(median(t))} (${ms(Math.min(...t))})`;
      console.log(`| ${dimension} | ${cell(times.before)} | ${cell(times.after)} |`);
    }
  } finally {
    await client.end();
  }
}

runBench(main);
