import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../helpers/processes';
import { waitFor } from '../../helpers/wait-for';

export interface PrometheusServer {
  url: string;
  /** An instant query; the `result` vector of the answer. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** The single value of a query answering one series, or undefined when it answers none. */
  scalar(expr: string): Promise<number | undefined>;
  api<T = unknown>(path: string): Promise<T>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus (the binary of Debian's `prometheus` package) with its own throwaway storage,
 * listening on a free loopback port, running the given configuration.
 */
export async function startPrometheus(binary: string, config: object): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sitestream-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let dead = false;
  void exited.then(() => (dead = true));

  const stop = async (): Promise<void> => {
    if (!dead) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = JSON.parse(await res.text()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const query = async (expr: string) => {
    const data = await api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    );
    return data.result;
  };

  try {
    await waitFor(
      async () => {
        if (dead) throw new Error(`prometheus exited: ${out}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 20_000, what: 'Prometheus to be ready' },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    api,
    query,
    scalar: async (expr) => {
      const result = await query(expr);
      if (result.length > 1) throw new Error(`${expr} answered ${result.length} series`);
      return result[0] ? Number(result[0].value[1]) : undefined;
    },
    output: () => out,
    stop,
  };
}
