import { validateEventMessage, type EventMessage } from '@sitestream/shared';

/** Why a record can never be stored: a bounded set, used as a metric label. */
export const POISON_REASONS = ['empty', 'invalid_json', 'schema', 'database_rejected'] as const;

export interface Poison {
  reason: (typeof POISON_REASONS)[number];
  error: string;
}

export interface DecodedRecord {
  offset: number;
  raw: Buffer | null;
  /** When the record was appended to Kafka (ISO 8601): a dead letter's time, for a deleted site's tombstone. */
  recordTime?: string;
  event?: EventMessage;
  poison?: Poison;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Turns a Kafka record into an event, or into a poison record that says why it can never be stored. */
export function decodeRecord(offset: string, value: Buffer | null, timestampMs?: string): DecodedRecord {
  const base = { offset: Number(offset), raw: value, recordTime: new Date(timestampMs !== undefined ? Number(timestampMs) : Date.now()).toISOString() };
  if (!value || value.length === 0) return { ...base, poison: { reason: 'empty', error: 'record has no value' } };
  let data: unknown;
  try {
    data = JSON.parse(decoder.decode(value));
  } catch (err) {
    return { ...base, poison: { reason: 'invalid_json', error: (err as Error).message.slice(0, 500) } };
  }
  const result = validateEventMessage(data);
  if (!result.ok) {
    const error = result.errors.map((e) => `${e.field} ${e.message}`).join('; ');
    return { ...base, poison: { reason: 'schema', error } };
  }
  return { ...base, event: result.value };
}
