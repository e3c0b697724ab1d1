// Builds the dashboard (src/*.ts, uPlot from npm) into dist/: index.html and /assets/<content hash>/{app.js,
// app.css,icon.svg}, plus manifest.json for reporting to load. Plain JS so that it needs no compile step of its
// own; the sources are type-checked by `tsc -p reporting/dashboard` (npm run build:dashboard).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

const result = await build({
  entryPoints: { app: join(here, 'src', 'main.ts') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  write: false,
  outdir: '/out',
  legalComments: 'eof',
  logLevel: 'warning',
});
const out = Object.fromEntries(result.outputFiles.map((f) => [f.path.slice('/out/'.length), f.contents]));
const files = { 'app.js': out['app.js'], 'app.css': out['app.css'], 'icon.svg': readFileSync(join(here, 'icon.svg')) };
for (const [name, body] of Object.entries(files)) if (!body) throw new Error(`esbuild produced no ${name}`);

const hash = createHash('sha256');
for (const name of Object.keys(files).sort()) hash.update(name).update(files[name]);
const version = hash.digest('hex').slice(0, 12);

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets', version), { recursive: true });
for (const [name, body] of Object.entries(files)) writeFileSync(join(dist, 'assets', version, name), body);
writeFileSync(join(dist, 'index.html'), readFileSync(join(here, 'index.html'), 'utf8').replaceAll('%VERSION%', version));
writeFileSync(join(dist, 'manifest.json'), `${JSON.stringify({ version, files: Object.keys(files) }, null, 2)}\n`);
console.log(`dashboard built: reporting/dashboard/dist (assets/${version}: ${Object.entries(files).map(([n, b]) => `${n} ${b.length} B`).join(', ')})`);
