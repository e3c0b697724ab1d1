import { isTransientDbError } from '@sitestream/db';
import { AppError, Errors } from '@sitestream/shared';

/** What a failed reporting read answers: one rule for /stats and the query API. */
export function answerForDbFailure(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // 57014: statement_timeout. A range too long for the timeout is the client's to shorten.
  if ((err as { code?: string }).code === '57014') return Errors.queryTimeout(err);
  // A lost connection is worth a retry; any other failure is a bug, answered 500 and logged.
  return isTransientDbError(err) ? Errors.databaseUnavailable(err) : Errors.internal(err);
}
