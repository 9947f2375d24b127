// mistique index: build, list and drop the vector indexes KNN uses (src/reader/vectorindex.ts).
import { withStore, type Io } from './commands.js';
import { formatBytes, formatTable } from './format.js';
import { progress, type Progress } from './progress.js';
import { MistiqueError } from '../errors.js';
import type { Metric } from '../diagnostics/knn.js';

export async function indexCmd(dir: string, pos: readonly string[], opts: { metric?: string; json?: boolean; list?: boolean; drop?: boolean }, io: Io): Promise<void> {
  if (opts.list && opts.drop) throw new MistiqueError('BAD_OPTION', 'give --list or --drop, not both');
  const metric = opts.metric as Metric | undefined;
  await withStore(dir, async (s) => {
    if (opts.list) {
      if (opts.metric) throw new MistiqueError('BAD_OPTION', '--list takes a pattern, not --metric');
      const all = s.listIndexes(pos[0] ?? '*');
      if (opts.json) { io.out(JSON.stringify(all)); return; }
      if (all.length === 0) { io.out('no vector indexes; build one with mistique index <project.model.layer>'); return; }
      io.out(formatTable(['layer', 'metric', 'rows', 'dims', 'size', 'built in', 'built at'], all.map((x) => [x.key, x.metric, x.rows, x.dims, formatBytes(x.bytes), `${(x.buildMs / 1000).toFixed(2)} s`, x.builtAt]), [false, false, true, true, true, true, false]));
      return;
    }
    if (pos.length !== 1) throw new MistiqueError('BAD_KEY', `give one layer: mistique index fm.cnn_e10.pool1${pos.length ? ` (got ${pos.length})` : ''}`);
    if (opts.drop) {
      const gone = await s.dropIndex(pos[0]!, { metric });
      if (opts.json) { io.out(JSON.stringify(gone)); return; }
      for (const x of gone) io.out(`dropped the ${x.metric} index of ${x.key}`);
      return;
    }
    let bar: Progress | null = null;
    let shown = 0;
    const info = await s.buildIndex(pos[0]!, { metric, onProgress: (done, total) => { bar ??= progress('index', total); bar.tick(done - shown); shown = done; } });
    (bar as Progress | null)?.stop();
    if (opts.json) { io.out(JSON.stringify(info)); return; }
    io.out(`indexed ${info.rows} rows of ${info.key} (${info.dims} values each, ${info.metric}) in ${(info.buildMs / 1000).toFixed(2)} s: ${formatBytes(info.bytes)} in ${info.file}${info.skipped ? `; ${info.skipped} row${info.skipped === 1 ? '' : 's'} with NaN or ±Infinity left out` : ''}`);
  });
}
