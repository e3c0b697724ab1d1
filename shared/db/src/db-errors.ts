/**
 * The one rule for what a database error means to a writer:
 * - `transient`: the connection or the server went away, the server is starting or shutting down, a
 *   serialization failure or deadlock, resources exhausted, a lock or statement timeout, or the pool could not
 *   hand out a connection. Trying the same work again later can succeed.
 * - `bad_data`: PostgreSQL refuses the values of a row (SQLSTATE class 22, or class 23 other than a unique
 *   violation, which ON CONFLICT handles). Trying again cannot help; only the rows that carry such values may be
 *   set aside, and only by the statement that wrote them (the raw insert isolates them; see event-writer).
 * - `other`: anything else (a bug, a schema that does not match the code, missing privileges). Neither
 *   retrying quickly nor dropping data is right: it is retried slowly and announced (see writer-consumer).
 */
export type DbErrorClass = 'transient' | 'bad_data' | 'other';

const TRANSIENT_NET_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'];
// 57014: statement_timeout hit while waiting for a lock another (frozen) session holds; 55P03: lock not available.
const TRANSIENT_SQLSTATES = ['40001', '40P01', '57014', '55P03'];
const CONNECTION_LOST = /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection/i;

export function classifyDbError(err: unknown): DbErrorClass {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^(08|53|57P)/.test(code) || TRANSIENT_SQLSTATES.includes(code) || TRANSIENT_NET_CODES.includes(code)) return 'transient';
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.name === 'KnexTimeoutError' || CONNECTION_LOST.test(message)) return 'transient';
  if (code.startsWith('22') || (code.startsWith('23') && code !== '23505')) return 'bad_data';
  return 'other';
}

export const isTransientDbError = (err: unknown): boolean => classifyDbError(err) === 'transient';

/**
 * What PostgreSQL said, for a dead letter or a log line: SQLSTATE, message, detail, the column or constraint.
 * knex prefixes the message with the statement's text (all of a batch's bound arrays are not in it, but the SQL
 * is long and says nothing about the row): only what follows the last " - " is PostgreSQL's message.
 */
export function describeDbError(err: unknown): string {
  const e = err as { code?: string; message?: string; detail?: string; column?: string; constraint?: string };
  const message = e.message ?? '';
  const cut = message.lastIndexOf(' - ');
  const parts = [`${e.code ?? '?'}: ${(cut >= 0 ? message.slice(cut + 3) : message).slice(0, 300)}`];
  if (e.detail) parts.push(`detail: ${e.detail.slice(0, 300)}`);
  if (e.column) parts.push(`column: ${e.column}`);
  if (e.constraint) parts.push(`constraint: ${e.constraint}`);
  return parts.join('; ');
}
