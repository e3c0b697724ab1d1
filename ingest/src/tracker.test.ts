import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TRACKER_JS } from './tracker-script.generated';

// terser's type declarations are ESM-only; its CommonJS build is what jest loads.
const { minify } = require('terser') as { minify(code: string, options: object): Promise<{ code?: string }> };
const dir = join(__dirname, '..', 'tracker');

describe('the served tracker', () => {
  it('is exactly tracker/tracker.js minified (run `npm run build:tracker -w ingest` after editing it)', async () => {
    const options = JSON.parse(readFileSync(join(dir, 'terser.json'), 'utf8')) as object;
    const { code } = await minify(readFileSync(join(dir, 'tracker.js'), 'utf8'), options);
    expect(TRACKER_JS).toBe(code);
  });

  it('stays under 2 KB gzipped', () => {
    expect(gzipSync(TRACKER_JS, { level: 9 }).length).toBeLessThan(2048);
  });
});
