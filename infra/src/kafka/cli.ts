import { resolve } from 'node:path';
import { ensureKafkaJars, startLocalKafka } from './local-kafka';

/**
 * `npm run kafka -- fetch` resolves the jars; `npm run kafka -- start [--cluster]` runs a broker (or a
 * 3-broker cluster on ports 9092/9094/9096) in the foreground until Ctrl-C.
 */
async function main(): Promise<void> {
  const [command = 'start', ...flags] = process.argv.slice(2);
  if (command === 'fetch') {
    ensureKafkaJars(console.log);
    return;
  }
  if (command !== 'start') throw new Error(`unknown command "${command}" (use fetch or start [--cluster])`);
  const cluster = flags.includes('--cluster');
  const kafka = await startLocalKafka({
    dataDir: resolve(__dirname, '..', '..', '..', '.data', cluster ? 'kafka-cluster' : 'kafka'),
    brokers: cluster
      ? [1, 2, 3].map((n) => ({ nodeId: n, port: 9090 + 2 * n, controllerPort: 9091 + 2 * n }))
      : [{ nodeId: 1, port: 9092, controllerPort: 9093 }],
  });
  console.log(`Kafka ready at ${kafka.bootstrap} (Ctrl-C stops it)`);
  const stop = () => void kafka.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
