import { resolve } from 'node:path';
import pg from 'pg';
import { elapsed, median, ms } from './lib/measure';
import { runNode } from './lib/processes';
import { BENCH_DIMENSIONS, BENCH_FILTERS, naiveSql } from './naive-queries';

export interface QueryBenchOptions {
  base: string;
  key: string;
  url: string;
  site: string;
  days: string[];
  /** Most requests per cell (fewer for slow cells: about CELL_BUDGET_MS of requests, at least MIN_REQUESTS). */
  requests: number;
  /** Comma-separated dimensions to run (empty: all). */
  only: string;
  /** Dimensions whose filtered 30-day cell runs ('*': all; on the raw tables each takes seconds per request). */
  filtered30: string[];
  log: (line: string) => void;
}

interface Cell {
  dimension: string;
  range: 'one day' | '30 days';
  filtered: boolean;
  p50: number;
  p99: number;
  n: number;
  naiveMs: number[];
  same: boolean;
  /** Where the service read the answer (its Sitestream-Query-Plan header). */
  plan: string;
}

const CELL_BUDGET_MS = 3_000;
const MIN_REQUESTS = 2;
const TARGETS = { 'one day': { plain: 50, filtered: 300 }, '30 days': { plain: 500, filtered: 2000 } };

type Row = [string, number, number];

/**
 * POST /api/v2/query through real HTTP from a separate process (load-query.ts, 1 connection) against the same
 * answer by naive SQL over the raw table (naive-queries.ts), per dimension × range × filtered; checks that both
 * give the same top 100 and prints the table with ratios (naive median ÷ API p50).
 */
export async function benchQueries(o: QueryBenchOptions): Promise<void> {
  const client = new pg.Client({ connectionString: o.url });
  await client.connect();
  await client.query("SET TimeZone = 'UTC'");
  // The same session settings as reporting's (work_mem, no JIT): the ratio compares the SQL, not the settings.
  await client.query("SET work_mem = '32MB'; SET jit = off");
  const cells: Cell[] = [];
  try {
    const dims = o.only ? o.only.split(',') : BENCH_DIMENSIONS;
    const whole: [string, string] = [o.days[0]!, o.days[o.days.length - 1]!];
    for (const dimension of dims) {
      for (const range of ['one day', '30 days'] as const) {
        for (const filtered of [false, true]) {
          if (filtered && range === '30 days' && !o.filtered30.includes('*') && !o.filtered30.includes(dimension)) continue;
          const periods: [string, string][] = range === 'one day' ? o.days.map((d) => [d, d]) : [whole];
          const body = (p: [string, string]) => ({
            site_id: o.site, metrics: ['visitors', 'pageviews'], date_range: p, dimensions: [dimension],
            ...(filtered ? { filters: BENCH_FILTERS } : {}), pagination: { limit: 100 },
          });
          let api: { rows: Row[]; ms: number; plan: string };
          try {
            api = await queryOnce(o, body(periods[0]!));
          } catch (err) {
            o.log(`  ${dimension} ${range}${filtered ? ' filtered' : ''}: SKIPPED, ${(err as Error).message}`);
            continue;
          }
          const naiveMs: number[] = [];
          let naiveRows: Row[] = [];
          for (const p of periods.slice(0, range === 'one day' ? 2 : 1)) {
            const started = process.hrtime.bigint();
            const result = await client.query(naiveSql(dimension, filtered), [o.site, p[0], p[1]]);
            naiveMs.push(elapsed(started));
            if (naiveRows.length === 0) naiveRows = result.rows.map((r: { d: string; visitors: string; pageviews: string }) => [r.d, Number(r.visitors), Number(r.pageviews)]);
          }
          const same = JSON.stringify(api.rows) === JSON.stringify(naiveRows);
          const n = Math.max(MIN_REQUESTS, Math.min(o.requests, Math.floor(CELL_BUDGET_MS / Math.max(1, api.ms))));
          const load = JSON.parse(
            await runNode(resolve(__dirname, 'load-query.js'), [o.base, o.key, String(n), '1', JSON.stringify(periods.map(body))]),
          ) as { requests: number; non2xx: number; errors: number; p50: number; p99: number };
          if (load.non2xx > 0 || load.errors > 0) o.log(`  WARNING ${dimension}: ${load.non2xx} non-2xx, ${load.errors} errors`);
          const cell = { dimension, range, filtered, p50: load.p50, p99: load.p99, n: load.requests, naiveMs, same, plan: api.plan };
          cells.push(cell);
          o.log(`  ${dimension} ${range}${filtered ? ' filtered' : ''} (${api.plan}): API p50 ${ms(cell.p50)} / p99 ${ms(cell.p99)} ms (${cell.n}), naive ${naiveMs.map(ms).join(', ')} ms, ${same ? 'same' : 'DIFFERENT'}`);
          if (!same) o.log(`    API ${JSON.stringify(api.rows.slice(0, 3))} naive ${JSON.stringify(naiveRows.slice(0, 3))}`);
        }
      }
    }
  } finally {
    await client.end();
  }
  report(cells, o.log);
}

async function queryOnce(o: QueryBenchOptions, body: unknown): Promise<{ rows: Row[]; ms: number; plan: string }> {
  const started = process.hrtime.bigint();
  const res = await fetch(`${o.base}/api/v2/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { results?: { dimensions: string[]; metrics: number[] }[] };
  if (res.status !== 200 || !answer.results) throw new Error(`query answered ${res.status}: ${JSON.stringify(answer).slice(0, 300)}`);
  return { rows: answer.results.map((r) => [r.dimensions[0]!, r.metrics[0]!, r.metrics[1]!]), ms: elapsed(started), plan: res.headers.get('sitestream-query-plan') ?? '?' };
}

function report(cells: Cell[], log: (line: string) => void): void {
  log('\n## POST /api/v2/query (visitors, pageviews; top 100) vs naive SQL over the raw table');
  log('| dimension | range | filters | read from | API p50 / p99 (requests) | target p99 | naive SQL median | ratio | same answer |');
  log('|---|---|---|---|---|---|---|---|---|');
  let met = 0;
  for (const c of cells) {
    const target = TARGETS[c.range][c.filtered ? 'filtered' : 'plain'];
    const ok = c.p99 <= target;
    if (ok) met++;
    log(
      `| ${c.dimension} | ${c.range} | ${c.filtered ? 'country + page' : '—'} | ${c.plan} | ${ms(c.p50)} / ${ms(c.p99)} ms (${c.n}) | ${target} ms ${ok ? 'met' : '**missed**'} | ` +
        `${ms(median(c.naiveMs))} ms | ${(median(c.naiveMs) / c.p50).toFixed(1)}× | ${c.same ? 'yes' : '**no**'} |`,
    );
  }
  log(`targets met: ${met} of ${cells.length}; answers the same: ${cells.filter((c) => c.same).length} of ${cells.length}`);
}
