// mistique export KEY… --out PATH: whole intermediates to standard files (src/export), with a progress bar.
import { withStore, type Io } from './commands.js';
import { formatBytes } from './format.js';
import { progress, type Progress } from './progress.js';
import type { ExportFormat, ParquetCompression } from '../export/writers.js';
import { MistiqueError } from '../errors.js';

export async function exportCmd(dir: string, pos: readonly string[], opts: { out?: string; format?: string; compression?: string; json?: boolean }, io: Io): Promise<void> {
  if (pos.length === 0) throw new MistiqueError('BAD_KEY', 'give the intermediates to export, e.g. mistique export fm.cnn_e10.relu3 --out relu3.parquet');
  if (!opts.out) throw new MistiqueError('BAD_OPTION', 'give --out: a file (.parquet, .arrow, .npy, .csv) for one intermediate, a directory for several');
  await withStore(dir, async (s) => {
    let bar: Progress | null = null;
    let shown = 0;
    const files = await s.export(pos, {
      out: opts.out!, format: opts.format as ExportFormat | undefined, compression: opts.compression as ParquetCompression | undefined,
      onProgress: (done, total) => {
        bar ??= progress('export', total);
        bar.tick(done - shown);
        shown = done;
      },
    });
    (bar as Progress | null)?.stop();
    if (opts.json) { io.out(JSON.stringify(files)); return; }
    for (const f of files) io.out(`${f.key}: ${f.rows} rows → ${f.files.join(' + ')} (${formatBytes(f.bytes)}, ${(f.ms / 1000).toFixed(2)} s)`);
  });
}
