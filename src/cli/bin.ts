#!/usr/bin/env node
// The installed `mistique` command. It always runs: npx, node_modules/.bin, npm link and global installs
// reach it through a symlink, so no "is this file the entry point?" check may stand between it and run().
import { run } from './main.js';
import type { Io } from './commands.js';

// output piped into a reader that stops early (mistique get … | head): stop quietly, as Unix tools do
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const io: Io = {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  // a pipe takes what it can hold: wait for it to drain, so that a large result is not held twice
  write: (b) => new Promise<void>((resolve, reject) => {
    if (process.stdout.write(b, (err) => { if (err) reject(err); })) resolve();
    else process.stdout.once('drain', resolve);
  }),
};
run(process.argv.slice(2), io).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`mistique: internal error: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 70;
});
