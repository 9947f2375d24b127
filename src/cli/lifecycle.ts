// mistique rm and mistique gc: a store's life cycle from the command line.
import { MistiqueError } from '../errors.js';
import { withStore, type Io } from './commands.js';
import { formatBytes } from './format.js';
import { progress } from './progress.js';

/** Deletes intermediates or whole models; their space is reclaimed by `gc` (or at once with --gc). */
export async function rm(dir: string, patterns: readonly string[], opts: { dryRun?: boolean; gc?: boolean; json?: boolean; force?: boolean }, io: Io): Promise<void> {
  if (patterns.length === 0) throw new MistiqueError('BAD_KEY', 'usage: mistique rm <project[.model[.intermediate]]> … [--dry-run] [--gc] [--force]');
  await withStore(dir, async (s) => {
    // all patterns at once: one that matches nothing, or an input layers left behind re-run from, deletes nothing
    const keys = s.delete(patterns, { dryRun: opts.dryRun, force: opts.force });
    const gc = opts.gc && !opts.dryRun ? await s.gc({ minDeadFraction: 0 }) : null;
    if (opts.json) { io.out(JSON.stringify({ deleted: keys, dryRun: !!opts.dryRun, gc })); return; }
    io.out(`${opts.dryRun ? 'would delete' : 'deleted'} ${keys.length}: ${keys.join(', ')}`);
    if (gc) io.out(gcLine(gc));
    else if (!opts.dryRun) io.out('their space is reclaimed by `mistique gc`');
  }, false, io);
}

export async function gcCmd(dir: string, opts: { all?: boolean; json?: boolean }, io: Io): Promise<void> {
  await withStore(dir, async (s) => {
    let bar: ReturnType<typeof progress> | null = null;
    const r = await s.gc({
      minDeadFraction: opts.all ? 0 : undefined,
      onPartition: (done, total) => { bar ??= progress('gc', total); bar.tick(); if (done === total) bar.stop(); },
    });
    io.out(opts.json ? JSON.stringify(r) : gcLine(r));
  }, false, io);
}

function gcLine(r: Awaited<ReturnType<import('../mistique.js').Store['gc']>>): string {
  const saved = r.bytesBefore - r.bytesAfter;
  return `gc: ${r.dropped} partitions removed, ${r.rewritten} rewritten, ${r.kept} kept (less than a quarter unreferenced; --all rewrites them too); ${formatBytes(saved)} reclaimed${r.strayFiles.length ? `; ${r.strayFiles.length} stray files removed` : ''}`;
}
