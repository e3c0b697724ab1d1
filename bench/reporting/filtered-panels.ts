import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadLine, machineLine, ms } from './lib/measure';
import { runNode } from './lib/processes';

/**
 * The dashboard's panels under a filter (reporting/dashboard/src/panel-defs.ts: visitors and visits by a visit:*
 * dimension, first 10 rows), with the filter a click on a country sets, against two reporting processes on the same
 * database: `--current` (this build) and `--baseline` (the build before it), request for request in turn, through
 * real HTTP from a separate process (load-query.ts, 1 connection). Checks that both answer the same rows and prints
 * p50/p99 of each and the ratio (baseline p50 ÷ current p50).
 *
 *   node bench/reporting/dist/filtered-panels.js --current http://127.0.0.1:8301 --baseline http://127.0.0.1:8302 --key ss_live_…
 */
const PANEL_DIMENSIONS = ['visit:source', 'visit:referrer', 'visit:country', 'visit:device', 'visit:entry_page', 'visit:exit_page'];
const FILTER = ['is', 'visit:country', ['DE']];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      current: { type: 'string' }, baseline: { type: 'string' }, key: { type: 'string' },
      site: { type: 'string', default: 'big-site' }, from: { type: 'string', default: '2025-10-01' }, to: { type: 'string', default: '2025-10-30' },
      requests: { type: 'string', default: '6' },
    },
  });
  if (!values.current || !values.baseline || !values.key) throw new Error('usage: filtered-panels --current <url> --baseline <url> --key <api key>');
  const days: string[] = [];
  for (let t = Date.parse(values.from!); t <= Date.parse(values.to!); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  console.log(machineLine());
  console.log(`start: ${loadLine()}`);
  console.log('| dimension | range | baseline p50 / p99 (plan) | this build p50 / p99 (plan) | ratio | same answer |');
  console.log('|---|---|---|---|---|---|');
  for (const dimension of PANEL_DIMENSIONS) {
    for (const range of ['one day', '30 days'] as const) {
      const periods: [string, string][] = range === 'one day' ? days.map((d) => [d, d]) : [[days[0]!, days[days.length - 1]!]];
      const body = (p: [string, string]) => ({
        site_id: values.site, metrics: ['visitors', 'visits'], date_range: p, dimensions: [dimension], filters: [FILTER], pagination: { limit: 10 },
      });
      const answers = await Promise.all([values.baseline!, values.current!].map((base) => ask(base, values.key!, body(periods[0]!))));
      const same = JSON.stringify(answers[0]!.results) === JSON.stringify(answers[1]!.results);
      const load = async (base: string) => JSON.parse(await runNode(resolve(__dirname, 'load-query.js'),
        [base, values.key!, values.requests!, '1', JSON.stringify(periods.map(body))])) as { p50: number; p99: number; non2xx: number; errors: number };
      const before = await load(values.baseline!);
      const after = await load(values.current!);
      const bad = before.non2xx + before.errors + after.non2xx + after.errors;
      console.log(`| ${dimension} | ${range} | ${ms(before.p50)} / ${ms(before.p99)} ms (${answers[0]!.plan}) | ${ms(after.p50)} / ${ms(after.p99)} ms (${answers[1]!.plan}) | `
        + `${(before.p50 / after.p50).toFixed(1)}× | ${same ? 'yes' : 'NO'}${bad > 0 ? `, ${bad} failed requests` : ''} |`);
    }
  }
  console.log(`end: ${loadLine()}`);
}

async function ask(base: string, key: string, body: unknown): Promise<{ results: unknown; plan: string }> {
  const res = await fetch(`${base}/api/v2/query`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${base}: ${res.status} ${await res.text()}`);
  return { results: ((await res.json()) as { results: unknown }).results, plan: res.headers.get('sitestream-query-plan') ?? '?' };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
