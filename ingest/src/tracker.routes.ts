import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Router } from 'express';
import { TRACKER_JS } from './tracker-script.generated';

/**
 * GET /tracker.js: the browser tracker (tracker/tracker.js, minified at build time). Both encodings are
 * computed once; the content only changes with a deploy, so an ETag plus an hour of caching is enough.
 */
export function trackerRoutes(): Router {
  const plain = Buffer.from(TRACKER_JS, 'utf8');
  const gzipped = gzipSync(plain, { level: 9 });
  const etag = `"${createHash('sha256').update(plain).digest('base64url').slice(0, 22)}"`;
  const router = Router();
  router.get('/tracker.js', (req, res) => {
    res.set({
      'Content-Type': 'application/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=3600',
      ETag: etag,
      Vary: 'Accept-Encoding',
    });
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    if (req.acceptsEncodings('gzip') === 'gzip') {
      res.set('Content-Encoding', 'gzip').send(gzipped);
      return;
    }
    res.send(plain);
  });
  return router;
}
