// Bundles the viewer (web/) into dist/web: app.js (Observable Plot inside, no CDN) and app.css.
// Run by `npm run build` and `prepare` after tsc.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'web');
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'web', 'app.ts')], bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: true,
  outfile: path.join(out, 'app.js'), logLevel: 'warning', legalComments: 'linked',
});
fs.copyFileSync(path.join(root, 'web', 'app.css'), path.join(out, 'app.css'));
