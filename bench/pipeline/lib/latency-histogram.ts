/**
 * Latencies in log-spaced buckets (each 1% wider than the last, 10 µs to ~10 min): a quantile is off by at most
 * 1%, and the memory is fixed however long the run — a soak's load generator must not grow by keeping every
 * latency it measured.
 */
export class LatencyHistogram {
  private static readonly MIN_MS = 0.01;
  private static readonly GROWTH = Math.log(1.01);
  private readonly counts = new Uint32Array(Math.ceil(Math.log(600_000 / LatencyHistogram.MIN_MS) / LatencyHistogram.GROWTH) + 1);
  private total = 0;

  record(ms: number): void {
    const i = ms <= LatencyHistogram.MIN_MS ? 0 : Math.ceil(Math.log(ms / LatencyHistogram.MIN_MS) / LatencyHistogram.GROWTH);
    this.counts[Math.min(i, this.counts.length - 1)]!++;
    this.total++;
  }

  /** The q-quantile (0..1) by nearest rank, as the upper bound of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return LatencyHistogram.MIN_MS * Math.exp(i * LatencyHistogram.GROWTH);
    }
    return NaN;
  }
}
