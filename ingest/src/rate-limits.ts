import { AppError, Errors, type Config } from '@sitestream/shared';

/** A bucket holds this many seconds of its rate: a short burst above the steady rate is allowed, no more. */
const BURST_SECONDS = 1;
/** Buckets kept per limiter; past it the least recently touched is forgotten (a forgotten bucket starts full). */
const MAX_BUCKETS = 100_000;
const HOUR_MS = 3_600_000;

/**
 * Token buckets keyed by a string (a site_id, a client address): `ratePerSecond` tokens a second, at most
 * `ratePerSecond × BURST_SECONDS` saved up. A rate of 0 turns the limiter off.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly capacity: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.max(1, ratePerSecond * BURST_SECONDS);
  }

  get enabled(): boolean {
    return this.ratePerSecond > 0;
  }

  /** Seconds until one token is there (0: one is there now). Takes nothing. */
  waitFor(key: string): number {
    if (!this.enabled) return 0;
    const tokens = this.refill(key).tokens;
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.ratePerSecond));
  }

  take(key: string): void {
    if (this.enabled) this.refill(key).tokens -= 1;
  }

  private refill(key: string): { tokens: number; at: number } {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key); // re-inserted below: the map's order is least recently used first
      bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
      bucket.at = now;
    } else {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.capacity, at: now };
    }
    this.buckets.set(key, bucket);
    return bucket;
  }
}

/**
 * Which site_ids ingest takes: every listed one in allow-list mode (INGEST_SITES), otherwise any, but at most
 * `newPerHour` it has not seen before in each hour (a flood of made-up site_ids would each add a `sites` row).
 * Sites seen are remembered in this process (bounded), so after a restart known sites count as new once.
 */
export class SiteAdmission {
  private readonly allowed: Set<string> | undefined;
  private readonly known = new Set<string>();
  private window = { start: 0, admitted: 0 };

  constructor(
    allowList: string,
    private readonly newPerHour: number,
    private readonly now: () => number = Date.now,
  ) {
    const sites = allowList.split(',').map((s) => s.trim()).filter(Boolean);
    this.allowed = sites.length > 0 ? new Set(sites.map((s) => s.normalize('NFC'))) : undefined;
  }

  /** undefined: admitted. Otherwise the refusal. */
  check(siteId: string): AppError | undefined {
    if (this.allowed) return this.allowed.has(siteId) ? undefined : Errors.siteNotAllowed();
    if (this.newPerHour <= 0 || this.known.has(siteId)) return undefined;
    const now = this.now();
    if (now - this.window.start >= HOUR_MS) this.window = { start: now, admitted: 0 };
    if (this.window.admitted >= this.newPerHour) {
      return Errors.rateLimited(Math.max(1, Math.ceil((this.window.start + HOUR_MS - now) / 1000)));
    }
    this.window.admitted++;
    if (this.known.size >= MAX_BUCKETS) this.known.delete(this.known.values().next().value!);
    this.known.add(siteId);
    return undefined;
  }
}

/**
 * Every ingest limit an event must pass before it is published, in order: its site is admitted, its client
 * address and its site each have a token. A refused event takes no token from any bucket.
 */
export class IngestLimits {
  private readonly perSite: TokenBuckets;
  private readonly perClient: TokenBuckets;
  private readonly sites: SiteAdmission;

  constructor(config: Pick<Config, 'INGEST_SITE_EVENTS_PER_SECOND' | 'INGEST_CLIENT_EVENTS_PER_SECOND' | 'INGEST_SITES' | 'INGEST_NEW_SITES_PER_HOUR'>, now: () => number = Date.now) {
    this.perSite = new TokenBuckets(config.INGEST_SITE_EVENTS_PER_SECOND, now);
    this.perClient = new TokenBuckets(config.INGEST_CLIENT_EVENTS_PER_SECOND, now);
    this.sites = new SiteAdmission(config.INGEST_SITES, config.INGEST_NEW_SITES_PER_HOUR, now);
  }

  /** undefined: go ahead (tokens taken). Otherwise the error to answer for this event (429 with Retry-After, or 403). */
  admit(siteId: string, client: string): AppError | undefined {
    const refused = this.sites.check(siteId);
    if (refused) return refused;
    const wait = Math.max(this.perClient.waitFor(client), this.perSite.waitFor(siteId));
    if (wait > 0) return Errors.rateLimited(wait);
    this.perClient.take(client);
    this.perSite.take(siteId);
    return undefined;
  }
}
