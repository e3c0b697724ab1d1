import { isTransientDbError } from '@sitestream/shared';

/**
 * Worth another try: the database or the broker is (briefly) unreachable. Anything else is either a bug or
 * a property of the data, and retrying it would loop forever.
 */
export function isTransient(err: unknown): boolean {
  if (isTransientDbError(err)) return true;
  // kafkajs marks its errors with `retriable` (broker unavailable, leader moved, request timed out…).
  const e = err as { retriable?: unknown; name?: unknown };
  return e.retriable === true || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSRequestTimeoutError';
}
