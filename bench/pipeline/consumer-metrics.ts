/** The consumer's own view of a step, from its Prometheus metrics: how long its transactions took, how big its batches were. */
export interface ConsumerCounters {
  txSeconds: number;
  transactions: number;
  written: number;
  batchesOk: number;
  retries: number;
  batchesError: number;
  deadLettered: number;
}

function sum(text: string, name: string, labelFilter?: RegExp): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (labelFilter && !labelFilter.test(m[2] ?? '')) continue;
    total += Number(m[3]);
  }
  return total;
}

export async function readConsumerCounters(metricsUrl: string): Promise<ConsumerCounters> {
  const text = await (await fetch(metricsUrl)).text();
  return {
    txSeconds: sum(text, 'sitestream_consumer_transaction_duration_seconds_sum'),
    transactions: sum(text, 'sitestream_consumer_transaction_duration_seconds_count'),
    written: sum(text, 'sitestream_consumer_events_written_total'),
    batchesOk: sum(text, 'sitestream_consumer_batches_total', /outcome="ok"/),
    retries: sum(text, 'sitestream_consumer_transient_retries_total'),
    batchesError: sum(text, 'sitestream_consumer_batches_total', /outcome="error"/),
    deadLettered: sum(text, 'sitestream_consumer_dead_lettered_total'),
  };
}

/** The consumer's V8 heap in use and its memory outside the heap (Buffers), in MB, from prom-client's default metrics. */
export interface NodeMemory {
  heapUsedMb: number;
  /** What V8 has committed for its heap (used + free space it keeps): RSS follows this, not heapUsedMb. */
  heapTotalMb: number;
  externalMb: number;
}

export async function readNodeMemory(metricsUrl: string): Promise<NodeMemory | null> {
  try {
    const text = await (await fetch(metricsUrl)).text();
    return {
      heapUsedMb: sum(text, 'sitestream_nodejs_heap_size_used_bytes') / 2 ** 20,
      heapTotalMb: sum(text, 'sitestream_nodejs_heap_size_total_bytes') / 2 ** 20,
      externalMb: sum(text, 'sitestream_nodejs_external_memory_bytes') / 2 ** 20,
    };
  } catch {
    return null; // not answering (exited): the RSS sample says so
  }
}

export function describeConsumer(before: ConsumerCounters, after: ConsumerCounters, seconds: number): string {
  const tx = after.transactions - before.transactions;
  const txSeconds = after.txSeconds - before.txSeconds;
  const written = after.written - before.written;
  const batches = after.batchesOk - before.batchesOk;
  return (
    `${batches} batches of ${(written / Math.max(1, batches)).toFixed(0)} events on average, transaction ${((1000 * txSeconds) / Math.max(1, tx)).toFixed(1)} ms on average, ` +
    `${(txSeconds / seconds).toFixed(2)} s of transaction per second (2 partitions at a time), ${after.retries - before.retries} retries`
  );
}
