import type { RequestHandler } from 'express';
import { Errors, type AppError } from '@sitestream/shared';
import { readBody, type BodyBudget } from './read-body';

const ACCEPTED_TYPES = new Set(['application/json', 'text/plain']);
// `fatal: true`: express.json would silently turn invalid UTF-8 into U+FFFD and store altered data.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Why a request's Content-Type is refused (415), or undefined when it is JSON-compatible UTF-8 text. */
export function contentTypeProblem(header: string | undefined): AppError | undefined {
  if (!header) return Errors.unsupportedMediaType('Content-Type must be application/json or text/plain');
  const [type, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (!type || !ACCEPTED_TYPES.has(type)) return Errors.unsupportedMediaType('Content-Type must be application/json or text/plain');
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return Errors.unsupportedMediaType('charset must be utf-8');
  return undefined;
}

/** The JSON value of a body read whole; throws an AppError (400) when it is empty, not UTF-8 or not JSON. */
export function parseJsonBody(buf: unknown): unknown {
  if (!Buffer.isBuffer(buf) || buf.length === 0) throw Errors.emptyBody();
  let text: string;
  try {
    text = decoder.decode(buf);
  } catch {
    throw Errors.invalidEncoding();
  }
  if (text.trim() === '') throw Errors.emptyBody();
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw Errors.invalidJson(whereParsingFailed(err));
  }
}

/**
 * Reads a JSON body sent as application/json or as text/plain (what navigator.sendBeacon sends without a
 * CORS preflight). UTF-8 only, size-capped after decompression, every byte held while it arrives charged to
 * the process's body budget, and every failure is an AppError (4xx, or 503 when the budget is spent).
 */
export function jsonBody(limitBytes: number, budget: BodyBudget): RequestHandler[] {
  const checkType: RequestHandler = (req, _res, next) => next(contentTypeProblem(req.headers['content-type']));
  const raw: RequestHandler = (req, res, next) => {
    readBody(req, limitBytes, budget).then(
      (body) => {
        req.body = body;
        next();
      },
      (err: unknown) => {
        // The client may still be sending: answer, then close rather than read the rest.
        res.set('Connection', 'close');
        next(err);
      },
    );
  };
  const parse: RequestHandler = (req, _res, next) => {
    try {
      req.body = parseJsonBody(req.body);
    } catch (err) {
      return next(err);
    }
    next();
  };
  return [checkType, raw, parse];
}

/**
 * V8's JSON.parse messages quote the body ("Unexpected token 'x', \"<input>\" is not valid JSON"); an error
 * answer must not echo client input, so only the position survives.
 */
function whereParsingFailed(err: unknown): string {
  const position = /at position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  return position === undefined ? 'unexpected token or end of input' : `error at position ${position}`;
}
