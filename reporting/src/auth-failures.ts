/**
 * Counts failed key lookups (well-formed keys that are unknown, revoked or expired: the failures that cost a
 * database query) per client address in fixed one-minute windows. A client over the limit gets 429 without a
 * lookup for any key this process has not seen succeed recently (KnownKeys): guessing stays bounded, while a
 * valid key used from the same address (behind NAT or a proxy that is everyone) keeps working. Requests without
 * a key, or with a malformed one, cost no query and are not counted, so they can block nobody.
 * The map is bounded: past `maxClients` addresses, the oldest window is dropped first.
 */
export class AuthFailureCounter {
  private readonly windows = new Map<string, { failures: number; resetAt: number }>();

  constructor(
    private readonly limitPerMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxClients = 100_000,
  ) {}

  /** Seconds until the client may try again, or 0 when it may try now. */
  blockedFor(client: string): number {
    const w = this.current(client);
    if (!w || w.failures < this.limitPerMinute) return 0;
    return Math.max(1, Math.ceil((w.resetAt - this.now()) / 1000));
  }

  recordFailure(client: string): void {
    const w = this.current(client);
    if (w) {
      w.failures++;
      return;
    }
    if (this.windows.size >= this.maxClients) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(client, { failures: 1, resetAt: this.now() + 60_000 });
  }

  private current(client: string): { failures: number; resetAt: number } | undefined {
    const w = this.windows.get(client);
    if (w && w.resetAt <= this.now()) {
      this.windows.delete(client);
      return undefined;
    }
    return w;
  }
}

/**
 * Public prefixes of keys that authenticated in this process within the last `ttlMs`: a client over its failure
 * limit may still present one of these (it is checked in full, hash and revocation included). Bounded: past
 * `maxKeys` prefixes the oldest is forgotten.
 */
export class KnownKeys {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttlMs = 3_600_000,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  has(prefix: string): boolean {
    const at = this.seen.get(prefix);
    return at !== undefined && this.now() - at < this.ttlMs;
  }

  add(prefix: string): void {
    this.seen.delete(prefix);
    if (this.seen.size >= this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(prefix, this.now());
  }
}
