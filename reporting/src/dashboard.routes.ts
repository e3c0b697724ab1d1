import { Router, type Request, type Response } from 'express';
import { Errors } from '@sitestream/shared';
import type { Asset, DashboardAssets } from './dashboard-assets';

/**
 * Everything the page may do, and nothing else: its own scripts and styles (no inline code, no eval), requests
 * to this origin only, no frames, no form posts (the key is never submitted anywhere: the page reads it itself).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function send(req: Request, res: Response, file: Asset, cache: string): void {
  res.set({ 'Content-Security-Policy': DASHBOARD_CSP, 'Cache-Control': cache, Vary: 'Accept-Encoding', 'Content-Type': file.type });
  if (req.acceptsEncodings('gzip') === 'gzip') res.set('Content-Encoding', 'gzip').send(file.gzip);
  else res.send(file.body);
}

/** GET / (the page: always revalidated, so a new build shows at once) and GET /assets/<version>/<file> (immutable). */
export function dashboardRoutes(assets: DashboardAssets | undefined): Router {
  const router = Router();
  router.get('/', (req, res) => {
    if (!assets) throw Errors.dashboardNotBuilt();
    send(req, res, assets.index, 'no-cache');
  });
  router.get('/assets/:version/:file', (req, res, next) => {
    const file = assets?.version === req.params.version ? assets.files.get(req.params.file) : undefined;
    if (!file) return next();
    send(req, res, file, 'public, max-age=31536000, immutable');
  });
  return router;
}
