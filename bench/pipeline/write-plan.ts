import knex, { type Knex } from 'knex';
import type pg from 'pg';
import { parseArgs } from 'node:util';
import { writeBatch, type DecodedRecord } from '@sitestream/consumer';
import { migrateLatest } from '@sitestream/db';
import { dropBenchDatabase, openBenchDatabase } from '../reporting/lib/bench-db';
import { makeEvent } from './lib/events';

/**
 * Where PostgreSQL's time goes in the consumer's write: `node bench/pipeline/dist/pipeline/write-plan.js
 * [--batch 1000] [--warm 60] [--measure 5] [--jit on|off]`. Writes pipeline-shaped batches (bench:pipeline's
 * events: now() timestamps, skewed users and paths, the sites of one of 6 partitions) through the consumer's own
 * writeBatch into a fresh bench database, then has auto_explain (ANALYZE, BUFFERS, JSON) report the plans of the
 * next batches' statements and prints, per statement and per CTE of the one-statement write, its time (inclusive,
 * as EXPLAIN counts it), rows and buffers, and JIT's time where it fired. The same numbers EXPLAIN (ANALYZE)
 * shows, gathered for the statements the writer really sends.
 */
interface PlanNode {
  'Node Type': string;
  'Subplan Name'?: string;
  'Relation Name'?: string;
  'Actual Total Time'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  'Shared Dirtied Blocks'?: number;
  Plans?: PlanNode[];
}
interface Explained {
  'Query Text': string;
  Plan: PlanNode;
  'Execution Time'?: number;
  JIT?: { Timing?: { Total?: number } };
}

const PARTITIONS = 6;

function batchOf(size: number, sites: number, partition: number, offset: number): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  while (records.length < size) {
    const { event } = makeEvent({ sites, context: false });
    if (Number(String(event.site_id).slice(5)) % PARTITIONS !== partition) continue;
    const now = new Date().toISOString();
    records.push({ offset: offset + records.length, raw: null, event: { ...(event as Record<string, string>), received_at: now } as DecodedRecord['event'] });
  }
  return records;
}

function describe(node: PlanNode, depth: number, lines: string[]): void {
  const name = node['Subplan Name'] ?? `${node['Node Type']}${node['Relation Name'] ? ` on ${node['Relation Name']}` : ''}`;
  const loops = node['Actual Loops'] ?? 1;
  const ms = (node['Actual Total Time'] ?? 0) * loops;
  const buffers = `hit ${node['Shared Hit Blocks'] ?? 0}, read ${node['Shared Read Blocks'] ?? 0}, dirtied ${node['Shared Dirtied Blocks'] ?? 0}`;
  // CTEs and modifying nodes are where the write's time is attributed; their children add detail only.
  if (node['Subplan Name'] || node['Node Type'] === 'ModifyTable' || depth === 0) {
    lines.push(`${'  '.repeat(Math.min(depth, 1))}${name}: ${ms.toFixed(2)} ms, ${node['Actual Rows'] ?? 0} rows × ${loops} loops (${buffers})`);
  }
  for (const child of node.Plans ?? []) describe(child, depth + 1, lines);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batch: { type: 'string', default: '1000' },
      warm: { type: 'string', default: '60' },
      measure: { type: 'string', default: '5' },
      sites: { type: 'string', default: '500' },
      jit: { type: 'string', default: 'on' },
      durations: { type: 'boolean', default: false },
    },
  });
  const size = Number(values.batch);
  const name = 'sitestream_bench_write_plan';
  const { url, db: setup } = await openBenchDatabase(name, { fresh: true });
  await migrateLatest(setup);
  await setup.destroy();
  const plans: Explained[] = [];
  const durations: string[] = [];
  let explaining = false;
  const db: Knex = knex({
    client: 'pg',
    connection: { connectionString: url },
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
        conn.on('notice', (n: { message?: string }) => {
          if (!explaining || !n.message) return;
          // With --durations: the server's own log lines (parse, bind, execute of each statement) sent to the client.
          if (n.message.startsWith('duration:') && !n.message.includes(' plan:')) return void durations.push(n.message.replace(/\s+/g, ' ').slice(0, 140));
          const json = n.message.slice(n.message.indexOf('{'));
          try {
            plans.push(JSON.parse(json) as Explained);
          } catch {
            // Not a plan (another notice).
          }
        });
        conn.query(`SET jit = ${values.jit === 'off' ? 'off' : 'on'}`, (err) => done(err ?? null, conn));
      },
    },
  });
  try {
    let offset = 0;
    const write = async () => {
      const records = batchOf(size, Number(values.sites), 0, offset);
      offset += records.length;
      await writeBatch(db, { group: 'bench', topic: 'bench', partition: 0, records });
    };
    const warmStart = performance.now();
    for (let i = 0; i < Number(values.warm); i++) await write();
    console.log(`warm-up: ${values.warm} batches of ${size} events in ${((performance.now() - warmStart) / 1000).toFixed(1)} s`);
    for (let i = 0; i < Number(values.measure); i++) {
      durations.length = 0;
      if (values.durations) await db.raw("SET log_min_duration_statement = 0; SET client_min_messages = 'log'");
      else await db.raw("LOAD 'auto_explain'");
      if (!values.durations) await db.raw(
        "SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on; SET auto_explain.log_format = 'json'; SET auto_explain.log_level = 'notice'; SET auto_explain.log_nested_statements = on; SET client_min_messages = 'notice'",
      );
      explaining = true;
      plans.length = 0;
      const started = performance.now();
      await write();
      const wall = performance.now() - started;
      explaining = false;
      await db.raw(values.durations ? 'SET log_min_duration_statement = -1' : 'SET auto_explain.log_min_duration = -1');
      const lines: string[] = [];
      let statements = 0;
      const repeated = new Map<string, number>();
      for (const p of plans) {
        const ms = p['Execution Time'] ?? p.Plan['Actual Total Time'] ?? 0;
        statements += ms;
        const text = p['Query Text'].replace(/\s+/g, ' ').slice(0, 70);
        // A function's inner statements (e.g. a zone's check per site) repeat: counted, not listed.
        if (ms < 0.05) {
          repeated.set(text, (repeated.get(text) ?? 0) + 1);
          continue;
        }
        lines.push(`statement ${ms.toFixed(2)} ms${p.JIT ? ` (JIT ${(p.JIT.Timing?.Total ?? 0).toFixed(1)} ms)` : ''}: ${text}`);
        describe(p.Plan, 0, lines);
      }
      for (const [text, n] of repeated) lines.push(`${n} × under 0.05 ms: ${text}`);
      console.log(`\n== batch ${i + 1}: ${size} events, ${wall.toFixed(1)} ms wall (instrumented: auto_explain or the server's duration log), statements ${statements.toFixed(1)} ms`);
      for (const line of [...lines, ...durations]) console.log(line);
    }
  } finally {
    await db.destroy();
    await dropBenchDatabase(name);
  }
}

main().catch((err: unknown) => {
  console.error('write-plan failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
