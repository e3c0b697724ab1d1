import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { minify, type MinifyOptions } from 'terser';
import { TRACKER_JS } from './tracker-script.generated';

const dir = join(__dirname, '..', 'tracker');

describe('the served tracker', () => {
  it('is exactly tracker/tracker.js minified (run `npm run build:tracker -w ingest` after editing it)', async () => {
    const options = JSON.parse(readFileSync(join(dir, 'terser.json'), 'utf8')) as MinifyOptions;
    const { code } = await minify(readFileSync(join(dir, 'tracker.js'), 'utf8'), options);
    expect(TRACKER_JS).toBe(code);
  });

  it('stays under 2 KB gzipped', () => {
    expect(gzipSync(TRACKER_JS, { level: 9 }).length).toBeLessThan(2048);
  });
});
