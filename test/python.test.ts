// python/mistique (#19 item 3) run by Debian's python3 against this build's CLI: streams, reads, and
// capture() from PyTorch forward hooks (.ci/run installs python3-numpy and python3-torch with apt).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..');
const python = '/usr/bin/python3';

describe('python/mistique', () => {
  it('passes its unittest suite, torch capture included', () => {
    const has = spawnSync(python, ['-c', 'import numpy, torch']);
    expect(has.status, `${python} needs numpy and torch (apt-get install python3-numpy python3-torch): ${has.stderr}`).toBe(0);
    const r = spawnSync(python, ['-W', 'error::ResourceWarning', '-m', 'unittest', 'discover', '-s', path.join(root, 'python', 'tests'), '-v'], {
      env: { ...process.env, MISTIQUE_CLI: `${process.execPath} ${path.join(root, 'dist', 'src', 'cli', 'bin.js')}` },
      encoding: 'utf8',
      timeout: 240_000,
    });
    const report = r.stderr;
    expect(report, report).toMatch(/\nOK\s*$/);
    expect(report).not.toMatch(/skipped/);
    expect(r.status).toBe(0);
  }, 300_000);
});
