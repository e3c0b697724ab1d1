/**
 * Counts failed authentications per client address in fixed one-minute windows. Checked *before* a key is
 * verified, so a client over the limit learns nothing more, not even whether its next guess is right.
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
