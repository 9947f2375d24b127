// The installed command: npx, node_modules/.bin, npm link and global installs all reach dist/src/cli/bin.js
// through a symlink. It must run however it is reached (it once printed nothing and exited 0).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };

function runBin(file: string, args: string[], cwd: string): string {
  return execFileSync(process.execPath, [file, ...args], { cwd, encoding: 'utf8', env: { ...process.env, MISTIQUE_STORE: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the mistique command', () => {
  it('is the package bin, built by npm ci (prepare)', () => {
    expect(path.resolve(root, pkg.bin.mistique!)).toBe(bin);
    expect(fs.existsSync(bin), `${bin} is missing: run npm run build`).toBe(true);
  });

  it('runs through node_modules/.bin as a dependency of another package, and through a global-style symlink', () => {
    const app = tempDir();
    fs.mkdirSync(path.join(app, 'node_modules', '.bin'), { recursive: true });
    fs.symlinkSync(root, path.join(app, 'node_modules', 'mistique'), 'dir');
    const dotBin = path.join(app, 'node_modules', '.bin', 'mistique');
    fs.symlinkSync(path.join('..', 'mistique', pkg.bin.mistique!), dotBin);
    expect(runBin(dotBin, ['--help'], app)).toMatch(/^mistique — Model Intermediate STore/);
    // ls on a store that does not exist: an error on stderr and exit 1, not silence
    let err: { status: number; stderr: string } | undefined;
    try { runBin(dotBin, ['ls', '--store', path.join(app, 'none')], app); } catch (e) { err = e as typeof err; }
    expect(err?.status).toBe(1);
    expect(err?.stderr).toMatch(/is not a mistique store/);

    const globalBin = path.join(tempDir(), 'bin');
    fs.mkdirSync(globalBin);
    fs.symlinkSync(bin, path.join(globalBin, 'mistique'));
    expect(runBin(path.join(globalBin, 'mistique'), ['ls', '--help'], app)).toMatch(/usage: mistique ls/);
  });
});
