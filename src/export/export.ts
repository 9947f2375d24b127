// Export (#17): whole intermediates to standard files — Parquet, Arrow IPC, .npy, CSV — with meaningful
// names, streamed a group of RowBlocks at a time (memory bounded by a group, not by the intermediate),
// each file saying in its metadata what it holds: the key, the storage scheme, the per-example shape,
// and whether its values are as logged or the floats a read of a quantized scheme returns.
import fs from 'node:fs';
import path from 'node:path';
import { MistiqueError } from '../errors.js';
import type { Matrix } from '../model/matrix.js';
import { lossOf } from '../reader/planner.js';
import { EXPORT_FORMATS, formatOfFile, PARQUET_COMPRESSIONS, writeGroups, type ExportFormat, type ParquetCompression } from './writers.js';

/**
 * Result values per group read and written at once (whole RowBlocks; at least one). Measured on the
 * bench:export layer: 8 MB groups export as fast as 16 or 32 MB ones and peak at 307 MiB RSS against
 * 404 and 479 (parquet-wasm's memory grows with the row group it encodes).
 */
export const EXPORT_GROUP_BYTES = 8 * 1024 * 1024;

export interface ExportOptions {
  /** A file (one intermediate) or a directory (several: one file each, named `<key>.<format>`). */
  out: string;
  /** Default: from the file's extension; for a directory, parquet. */
  format?: ExportFormat;
  /** Parquet's compression (default snappy). */
  compression?: ParquetCompression;
  /** Called after each group written: rows done and rows in all. */
  onProgress?: (done: number, total: number) => void;
  groupBytes?: number;
}

export interface ExportedFile {
  key: string;
  format: ExportFormat;
  /** The file, and for .npy its row ids beside it. */
  files: string[];
  rows: number;
  bytes: number;
  ms: number;
}

/** What an export needs of a store. */
export interface ExportSource {
  intermediates(pattern: string): { key: string; rows: number; scheme: string; shape: number[] | null; materialized: boolean }[];
  /** Whether any column of the intermediate holds text. */
  hasText(key: string): boolean;
  /** All rows of the intermediate in groups of about `maxBytes`. */
  groups(key: string, maxBytes: number): AsyncIterable<Matrix>;
}

/** The per-file metadata: what the values are. */
function metaOf(x: { key: string; scheme: string; shape: number[] | null; materialized: boolean }): Record<string, string> {
  const meta: Record<string, string> = { 'mistique.key': x.key, 'mistique.scheme': x.scheme };
  if (x.shape) meta['mistique.shape'] = JSON.stringify(x.shape);
  meta['mistique.values'] = !x.materialized ? 'as a re-run of its workflow returns them (not stored)'
    : x.scheme === 'none' ? 'as logged'
      : `float32 as a read returns them, reconstructed from the ${x.scheme} scheme (${lossOf(x.scheme)})`;
  return meta;
}

function checkFormat(f: string | undefined, what: string): ExportFormat {
  if (f === undefined || !(EXPORT_FORMATS as readonly string[]).includes(f)) {
    throw new MistiqueError('BAD_OPTION', `${what}: give --format ${EXPORT_FORMATS.join('|')} (or name the file .parquet, .arrow, .npy or .csv)`);
  }
  return f as ExportFormat;
}

/** Exports the intermediates the patterns match (see the module comment). Every pattern must match one. */
export async function exportIntermediates(src: ExportSource, patterns: readonly string[], opts: ExportOptions): Promise<ExportedFile[]> {
  if (!Array.isArray(patterns) || patterns.length === 0) throw new MistiqueError('BAD_KEY', 'give at least one intermediate to export, e.g. zillow.P1_1.pred_test or fm.cnn_e10.*');
  if (!opts || typeof opts.out !== 'string' || opts.out === '') throw new MistiqueError('BAD_OPTION', 'give --out: a file for one intermediate, a directory for several');
  if (opts.compression !== undefined && !(PARQUET_COMPRESSIONS as readonly string[]).includes(opts.compression)) {
    throw new MistiqueError('BAD_OPTION', `compression ${JSON.stringify(opts.compression)}: use ${PARQUET_COMPRESSIONS.join(', ')}`);
  }
  const items = new Map<string, ReturnType<ExportSource['intermediates']>[number]>();
  for (const p of patterns) {
    if (p.split('.').length !== 3) throw new MistiqueError('BAD_KEY', `${JSON.stringify(p)}: export writes whole intermediates — give project.model.intermediate (* allowed); \`mistique get --out\` writes chosen columns`);
    const hits = src.intermediates(p);
    if (hits.length === 0) throw new MistiqueError('NOT_FOUND', `no intermediate matches ${p}; \`mistique ls\` lists them`);
    for (const h of hits) items.set(h.key, h);
  }
  const list = [...items.values()];
  const out = opts.out;
  const named = out.endsWith('/') || out.endsWith(path.sep) || (fs.existsSync(out) && fs.statSync(out).isDirectory());
  // several intermediates into what reads as one file's name (x.parquet) would make a directory of that name
  if (list.length > 1 && !named && formatOfFile(out)) {
    throw new MistiqueError('BAD_OPTION', `${list.length} intermediates match (${list.slice(0, 3).map((x) => x.key).join(', ')}${list.length > 3 ? ', …' : ''}) and ${out} names one file: give --out a directory (e.g. ${path.join(path.dirname(out), path.basename(out, path.extname(out)))}/), one file each`);
  }
  const toDir = list.length > 1 || named;
  let format: ExportFormat;
  if (toDir) {
    if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new MistiqueError('BAD_OPTION', `${out} is a file, and ${list.length} intermediates need a directory (one file each): give --out a directory`);
    format = opts.format === undefined ? 'parquet' : checkFormat(opts.format, `format ${JSON.stringify(opts.format)}`);
  } else {
    const byName = formatOfFile(out);
    format = opts.format === undefined ? checkFormat(byName ?? undefined, `cannot tell the format of ${out}`) : checkFormat(opts.format, `format ${JSON.stringify(opts.format)}`);
    if (byName && byName !== format) throw new MistiqueError('BAD_OPTION', `${out} is named .${path.extname(out).slice(1)} but the format asked is ${format}: rename the file or drop --format`);
  }
  if (format === 'npy') {
    const text = list.find((x) => src.hasText(x.key));
    if (text) throw new MistiqueError('BAD_OPTION', `cannot export ${text.key} to .npy: .npy holds numbers and it has text columns; use --format parquet, arrow or csv`);
  }
  if (toDir) fs.mkdirSync(out, { recursive: true });
  const total = list.reduce((a, x) => a + x.rows, 0);
  let done = 0;
  const written: ExportedFile[] = [];
  for (const x of list) {
    const t0 = performance.now();
    const file = toDir ? path.join(out, `${x.key}.${format}`) : out;
    const r = await writeGroups(format, file, { nrows: x.rows, tensorName: x.key, meta: metaOf(x), compression: opts.compression }, src.groups(x.key, opts.groupBytes ?? EXPORT_GROUP_BYTES), (n) => {
      done += n;
      opts.onProgress?.(done, total);
    });
    written.push({ key: x.key, format, files: r.files, rows: x.rows, bytes: r.bytes, ms: performance.now() - t0 });
  }
  return written;
}
