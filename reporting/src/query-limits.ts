import type { RequestHandler } from 'express';
import { Errors } from '@sitestream/shared';
import { apiKeyOf } from './auth';
import type { ReportingMetrics } from './reporting-metrics';

/**
 * At most `limit` /stats requests of one API key in flight at once (past it: 429 with Retry-After: 1). The
 * per-minute budget bounds a key's rate; this bounds what it holds at a time, so one key's slow range requests
 * cannot take the whole database pool from the others.
 */
export function keyConcurrency(limit: number, metrics: ReportingMetrics): RequestHandler {
  const inFlight = new Map<number, number>();
  return (req, res, next) => {
    const id = apiKeyOf(req, res).id;
    const now = inFlight.get(id) ?? 0;
    if (now >= limit) {
      metrics.rateLimited.inc({ limiter: 'key_concurrency' });
      return next(Errors.rateLimited(1));
    }
    inFlight.set(id, now + 1);
    res.once('close', () => {
      const left = (inFlight.get(id) ?? 1) - 1;
      if (left <= 0) inFlight.delete(id);
      else inFlight.set(id, left);
    });
    next();
  };
}

/**
 * Range queries (up to 366 days) in flight in this process, whatever their keys: capped below the pool size so
 * one-day requests, which cost a few index lookups, always find a connection.
 */
export class RangeGate {
  private running = 0;
  constructor(private readonly limit: number) {}

  tryEnter(): boolean {
    if (this.running >= this.limit) return false;
    this.running++;
    return true;
  }

  leave(): void {
    this.running = Math.max(0, this.running - 1);
  }
}
