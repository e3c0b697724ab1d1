import { spawn, type ChildProcess } from 'node:child_process';
import { countTopicRecords, createKafka, createLogger, loadConfig } from '@sitestream/shared';
import { event } from './bodies';

export function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, { env: { ...process.env, INGEST_MANAGEMENT_PORT: '0', ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

/** Polls until `url` answers 2xx (a POST of the seed's event when `post`), for at most a minute. */
export async function waitForHttp(url: string, post = false): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = post ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event(0)) }) : await fetch(url);
      if (res.status < 300) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function countTopic(brokers: string, topic: string): Promise<number> {
  const config = loadConfig({ KAFKA_BROKERS: brokers, LOG_LEVEL: 'silent' });
  const admin = createKafka(config, createLogger(config, 'bench'), 'bench').admin();
  await admin.connect();
  try {
    return await countTopicRecords(admin, topic);
  } finally {
    await admin.disconnect();
  }
}
