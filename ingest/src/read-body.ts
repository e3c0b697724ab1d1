import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppError, Errors } from '@sitestream/shared';

/**
 * Bytes held, across the whole process, for request bodies that have not finished arriving: what they inflated
 * to so far, plus a fixed charge per open decompressor for its window. A client that sends ~1 KB of gzip
 * inflating to just under the body limit, and then stops, would otherwise pin a megabyte per socket until its
 * request timed out; with the budget, such clients together pin at most `limitBytes`, and the one that would go
 * past it is refused 503 OVERLOADED at once.
 */
export class BodyBudget {
  private held = 0;
  constructor(readonly limitBytes: number) {}

  get heldBytes(): number {
    return this.held;
  }

  /** Charges `bytes`; false (and nothing charged) when that would go past the limit. */
  tryCharge(bytes: number): boolean {
    if (this.held + bytes > this.limitBytes) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}

// zlib's inflate keeps a 32 KiB window and ~10 KiB of state. Brotli's ring buffer can be sized up to the
// stream's declared window (up to 16 MiB); 4 MiB is the charge for the windows ordinary encoders use (≤ 4 MiB).
const DECOMPRESSOR_COST: Record<string, number> = { gzip: 48 * 1024, 'x-gzip': 48 * 1024, deflate: 48 * 1024, br: 4 * 1024 * 1024 };

/**
 * Reads a whole request body (decompressing gzip, deflate or br), at most `limitBytes` after decompression,
 * with every byte held charged to `budget` until the body is complete or abandoned. Failures are AppErrors:
 * 413 too large, 415 unknown encoding, 400 corrupt compressed data or aborted request, 503 budget exhausted.
 */
export function readBody(req: IncomingMessage, limitBytes: number, budget: BodyBudget): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (encoding === 'identity' && Number.isFinite(declared) && declared > limitBytes) {
    return Promise.reject(Errors.bodyTooLarge(limitBytes));
  }
  // Charged before the decompressor exists, so a refused body never allocates one.
  const fixedCost = DECOMPRESSOR_COST[encoding] ?? 0;
  if (encoding !== 'identity' && !Object.hasOwn(DECOMPRESSOR_COST, encoding)) {
    return Promise.reject(Errors.unsupportedMediaType(`unsupported content encoding "${encoding.slice(0, 32)}"`));
  }
  if (!budget.tryCharge(fixedCost)) return Promise.reject(Errors.overloaded(1));
  let source: Readable;
  switch (encoding) {
    case 'identity':
      source = req;
      break;
    case 'gzip':
    case 'x-gzip':
      source = req.pipe(createGunzip());
      break;
    case 'deflate':
      source = req.pipe(createInflate());
      break;
    default:
      source = req.pipe(createBrotliDecompress());
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let charged = fixedCost;
    let settled = false;

    const finish = (err: AppError | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      budget.release(charged);
      charged = 0;
      chunks.length = 0;
      source.off('data', onData);
      if (source !== req) {
        req.unpipe(source as Duplex);
        source.destroy();
      }
      // Stop reading what the client still sends; the answer goes out with Connection: close.
      if (err) {
        req.pause();
        reject(err);
      } else resolve(body!);
    };
    const charge = (bytes: number): boolean => {
      if (!budget.tryCharge(bytes)) return false;
      charged += bytes;
      return true;
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limitBytes) return finish(Errors.bodyTooLarge(limitBytes));
      if (!charge(chunk.length)) return finish(Errors.overloaded(1));
      chunks.push(chunk);
    };

    source.on('data', onData);
    source.once('end', () => finish(undefined, Buffer.concat(chunks, received)));
    source.once('error', (err: Error) => {
      finish(source === req ? requestAborted() : new AppError('BAD_REQUEST', 400, `body is not valid ${encoding} data`, { cause: err }));
    });
    req.once('aborted', () => finish(requestAborted()));
    req.once('close', () => {
      if (!req.complete) finish(requestAborted());
    });
  });
}

function requestAborted(): AppError {
  return new AppError('REQUEST_ABORTED', 400, 'request aborted');
}
