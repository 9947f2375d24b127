// Where bundled files (pipeline specs, fixtures) are: the package root, found from this module's own
// location whether it runs compiled (dist/src) or from source (src, under vitest or tsx).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mistique' && fs.existsSync(path.join(dir, 'datasets'))) {
      return (root = dir);
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the mistique package root (with its datasets/ folder) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const bundledPipelines = (): string => path.join(packageRoot(), 'datasets', 'zillow', 'pipelines');
