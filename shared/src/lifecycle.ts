import type { Logger } from './logger';

/** The contract every long-lived part of a service offers: an id, a readiness probe and a close hook. */
export interface Component {
  id: string;
  isReady(): boolean | Promise<boolean>;
  close(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  components: Record<string, boolean>;
}

/**
 * Owns a service's components and its shutdown. Components close in reverse order of registration
 * (HTTP server first, clients last), once, within a deadline; a second signal forces exit.
 */
export class Lifecycle {
  private readonly components: Component[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly shutdownTimeoutMs = 15000,
  ) {}

  add(component: Component): void {
    this.components.push(component);
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  async readiness(): Promise<Readiness> {
    const components: Record<string, boolean> = {};
    for (const c of this.components) {
      try {
        components[c.id] = !this.stopping && (await c.isReady());
      } catch {
        components[c.id] = false;
      }
    }
    return { ready: !this.stopping && Object.values(components).every(Boolean), components };
  }

  /** Idempotent: every caller gets the same promise. Never rejects; failures are logged. */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= this.runShutdown(reason);
    return this.stopping;
  }

  private async runShutdown(reason: string): Promise<void> {
    this.logger.info({ reason }, 'shutting down');
    const closeAll = (async () => {
      for (const c of [...this.components].reverse()) {
        try {
          await c.close();
          this.logger.debug({ component: c.id }, 'closed');
        } catch (err) {
          this.logger.error({ component: c.id, err }, 'close failed');
        }
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.shutdownTimeoutMs);
      timer.unref();
    });
    const outcome = await Promise.race([closeAll.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logger.error({ timeoutMs: this.shutdownTimeoutMs }, 'shutdown deadline passed');
    else this.logger.info('stopped');
  }

  /** For composition roots: SIGINT/SIGTERM stop the service and exit; a second signal exits at once. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopping) {
        this.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      void this.shutdown(signal).then(() => process.exit(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}

/**
 * A readiness probe that runs at most once per `ttlMs`, shared by concurrent callers: /readyz is public, and a
 * probe that queries the database on every call would let anyone make the service query it at will.
 */
export function cachedProbe(probe: () => Promise<boolean>, ttlMs = 1000, now: () => number = Date.now): () => Promise<boolean> {
  let last: { at: number; ok: boolean } | undefined;
  let running: Promise<boolean> | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return Promise.resolve(last.ok);
    running ??= probe()
      .catch(() => false)
      .then((ok) => {
        last = { at: now(), ok };
        running = undefined;
        return ok;
      });
    return running;
  };
}

/** A started service as its composition root hands it back: where it listens and how to stop it. */
export interface RunningService {
  url: string;
  /** The management listener (/metrics), where the service has one apart from its public port. */
  managementUrl?: string;
  lifecycle: Lifecycle;
  stop(): Promise<void>;
}
