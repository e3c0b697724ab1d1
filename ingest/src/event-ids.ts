import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** Ids drawn per fill of the random pool: one crypto call per 512 ids instead of one per 16 (uuid's own pool). */
const IDS_PER_FILL = 512;
const ID_BYTES = 16;

export interface EventIdOptions {
  now?: () => number;
  /** Fills a buffer with cryptographically strong random bytes (node:crypto's randomFillSync). */
  fill?: (buffer: Uint8Array) => void;
}

/**
 * The UUIDv7 ids ingest assigns (RFC 9562 §5.7, method 2 of §6.2: a 32-bit counter in rand_a and rand_b, seeded at
 * random in each new millisecond, incremented within one; when it wraps the time moves on by a millisecond), so
 * every id is greater than the one before. This is what `uuid`'s v7() does with its module state; it is kept here
 * because v7() drops that state as soon as it is handed its random bytes, and handing them over is the point: its
 * own source is a `randomFillSync` of 256 bytes every 16 ids plus a copy per id (3.7 % of ingest's busy time,
 * BENCHMARKS.md "Ingest hot path"); here one fill serves 512 ids and each id reads a view of the pool.
 */
export class EventIds {
  private readonly now: () => number;
  private readonly fill: (buffer: Uint8Array) => void;
  private readonly pool = Buffer.allocUnsafe(IDS_PER_FILL * ID_BYTES);
  private used = this.pool.length;
  private msecs = -Infinity;
  private seq = 0;

  constructor(options: EventIdOptions = {}) {
    this.now = options.now ?? Date.now;
    this.fill = options.fill ?? randomFillSync;
  }

  next(): string {
    if (this.used === this.pool.length) {
      this.fill(this.pool);
      this.used = 0;
    }
    const random = this.pool.subarray(this.used, (this.used += ID_BYTES));
    const now = this.now();
    if (now > this.msecs) {
      // 31 random bits: room to count up within the millisecond before the counter wraps.
      this.seq = (random[6]! << 23) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
      this.msecs = now;
    } else {
      this.seq = (this.seq + 1) | 0;
      if (this.seq === 0) this.msecs++;
    }
    return uuidv7({ random, msecs: this.msecs, seq: this.seq });
  }
}
