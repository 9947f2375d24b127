// The CLI's store commands: ls, get, stats, log. Each takes parsed arguments and an output sink.
import { MistiqueError } from '../errors.js';
import type { Matrix } from '../model/matrix.js';
import { bandText, type QueryPath } from '../reader/planner.js';
import type { Band } from '../costmodel/index.js';
import { describeRate } from '../reader/readrates.js';
import { openStore, type Store } from '../mistique.js';
import { parseKey, parseModelKey } from '../model/key.js';
import { parseRows } from '../reader/rowspec.js';
export { parseRows };
import fs from 'node:fs';
import path from 'node:path';
import { matrixText, matrixTextPieces, readFrame, textFormat, writeMatrix } from './files.js';
import { bytesOf, npyHeader, npyValuesHeader } from '../export/writers.js';
import { npyFirst, npyFrames, type NpyDescr } from './npy.js';
import type { DnnInput } from '../executor/onnx/dnn.js';
import type { InputType, NamedInput } from '../executor/onnx/inputs.js';
import { fromFloat16 } from '../quantize/lowprecision.js';
import { counter, progress } from './progress.js';
import type { IntermediateInfo } from '../store/writer.js';
import { WriteLock } from '../store/writelock.js';
import { loadFashionMnist, loadSubset } from '../../datasets/fashion-mnist/load.js';
import { parseScheme } from '../quantize/scheme.js';
import { formatBytes, formatMatrix, formatTable, rowLimit } from './format.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** Binary data on stdout (`get --out - --format npy`), resolved once it is written. */
  write?(b: Uint8Array): Promise<void>;
}

/** How long a command that writes waits for another writer to close the store (`--wait`; default: not at all). */
let lockTimeoutMs = 0;
export function waitForWriters(ms: number): void {
  lockTimeoutMs = ms;
}

/**
 * Runs fn on the store at dir (created when `create` and absent). A command that created the store and
 * failed before logging anything removes it again: a mistyped first `mistique log` leaves no empty store.
 */
export async function withStore<T>(dir: string, fn: (s: Store) => Promise<T>, create = false, io?: Io): Promise<T> {
  const fresh = create && !fs.existsSync(dir);
  const store = await openStore(dir, { create, lockTimeoutMs });
  noteRecovered(store, io);
  let failed = false;
  try {
    return await fn(store);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await store.close();
    if (failed && fresh) await removeIfEmpty(dir);
  }
}

/**
 * Removes a store this command created and logged nothing into — under its write lock, and only if it is
 * still empty there: a writer that waited for the lock meanwhile finds the store gone and says so
 * (WriteLock), instead of writing into removed files.
 */
async function removeIfEmpty(dir: string): Promise<void> {
  const lock = new WriteLock(dir);
  if (!lock.acquire(0, false)) return;
  try {
    const s = await openStore(dir);
    const empty = s.list('*').length === 0;
    await s.close();
    if (empty) fs.rmSync(dir, { recursive: true, force: true });
  } finally {
    lock.release();
  }
}

/** A writer that died left intermediates that never became durable: opening removed them, and says so. */
function noteRecovered(store: Store, io: Io | undefined): void {
  if (io && store.recovered.length > 0) {
    io.err(`mistique: a writer of this store stopped before these intermediates were durable; they were removed: ${store.recovered.slice(0, 10).join(', ')}${store.recovered.length > 10 ? `, … ${store.recovered.length} in all` : ''}`);
  }
}

export async function ls(dir: string, pattern: string | undefined, opts: { format?: string; columns?: boolean }, io: Io): Promise<void> {
  const format = textFormat(opts.format, 'table');
  await withStore(dir, async (s) => {
    const items = s.list(pattern ?? '*');
    if (opts.columns) { lsColumns(s, items, format, io); return; }
    if (format === 'json') { io.out(JSON.stringify(items)); return; }
    if (format === 'jsonl') { for (const i of items) io.out(JSON.stringify(i)); return; }
    if (format === 'csv') {
      io.out('key,rows,columns,shape,scheme,materialized,bytes_raw,bytes_stored,queries');
      for (const i of items) io.out([i.key, i.rows, i.columns, i.shape ? i.shape.join('x') : '', i.scheme, i.materialized ? 1 : 0, i.bytesRaw, i.bytesStored, i.queries].join(','));
      return;
    }
    if (items.length === 0) {
      io.out(pattern ? `nothing matches ${pattern}` : 'the store is empty: log something with `mistique log`');
      return;
    }
    io.out(formatTable(
      ['intermediate', 'rows', 'columns', 'shape', 'scheme', 'raw', 'stored', 'queries'],
      items.map((i) => [i.key, i.rows, i.columns, i.shape ? `[${i.shape.join(',')}]` : '', i.materialized ? i.scheme : `${i.scheme} (not stored: re-run)`, formatBytes(i.bytesRaw), formatBytes(i.bytesStored), i.queries]),
      [false, true, true, false, false, true, true, true],
    ));
  }, false, io);
}

/** `ls --columns`: each intermediate's columns and types; a tensor's shape and how its values are named. */
function lsColumns(s: Store, items: ReturnType<Store['list']>, format: string, io: Io): void {
  const rows = items.flatMap(({ key, shape }) => {
    const [project, model, ...rest] = key.split('.');
    const cols = s.metadata.columns(s.metadata.intermediateId(project!, model!, rest.join('.'))!);
    // a tensor's values are named by their coordinates: 0_0_0 … for shape [C, H, W]
    const last = shape ? shape.map((d) => d - 1).join('_') : '';
    return cols.map((c) => ({ key, column: c.name ?? `${shape!.map(() => '0').join('_')} … ${last} (${c.count} values of [${shape!.join(', ')}])`, type: c.type }));
  });
  if (format === 'json') { io.out(JSON.stringify(rows)); return; }
  if (format === 'jsonl') { for (const r of rows) io.out(JSON.stringify(r)); return; }
  if (format === 'csv') { io.out('key,column,type'); for (const r of rows) io.out([r.key, r.column, r.type].join(',')); return; }
  io.out(formatTable(['intermediate', 'column', 'type'], rows.map((r) => [r.key, r.column, r.type])));
}

function queryPath(p: string | undefined): QueryPath {
  if (p === undefined) return 'auto';
  if (p !== 'auto' && p !== 'read' && p !== 'rerun') throw new MistiqueError('BAD_OPTION', `--path ${JSON.stringify(p)}: use auto, read or rerun`);
  return p;
}

export async function get(dir: string, keys: string[], opts: { rows?: string; out?: string; limit?: string; path?: string; format?: string }, io: Io): Promise<void> {
  // --out - (stdout) is data: csv unless --format says otherwise; --format alone prints that format;
  // --out - --format npy: the values, then the row ids, as two .npy arrays one after the other on stdout —
  // what the Python package reads into numpy arrays straight from the pipe (no file between)
  const format = opts.out === '-' && opts.format === 'npy' ? 'npy' : textFormat(opts.format, opts.out === '-' ? 'csv' : 'table');
  if (opts.out && opts.out !== '-' && opts.format) throw new MistiqueError('BAD_OPTION', `--format is for stdout; ${opts.out} is written in the format its extension names`);
  if (opts.out === '-' && format === 'table') throw new MistiqueError('BAD_OPTION', '--out - writes data: use --format csv, json or jsonl');
  const limit = rowLimit(opts.limit);
  const write = io.write;
  if (format === 'npy' && !write) throw new MistiqueError('BAD_OPTION', '--format npy writes binary data: it needs stdout');
  if (keys.length === 0) throw new MistiqueError('BAD_KEY', 'give at least one key, e.g. `mistique get zillow.P1.pred.*`');
  keys.forEach(parseKey); // a malformed key is reported before the store is even opened
  const rows = opts.rows !== undefined ? parseRows(opts.rows) : undefined;
  const path = queryPath(opts.path);
  await withStore(dir, async (s) => {
    const t0 = performance.now();
    // a preview (a table on the terminal) reads the rows it shows, not a whole layer of gigabytes
    const preview = format === 'table' && !opts.out && !rows ? await s.rowIds(keys).catch((err: unknown) => {
      if (err instanceof MistiqueError && err.code === 'NOT_STORED') return null; // re-run whole, as a query would
      throw err;
    }) : null;
    const first = preview && preview.length > limit ? preview.subarray(0, Math.max(1, limit)) : null;
    const m = await s.getIntermediates(keys, first ? { rows: first, path } : rows ? { rows, path } : { path });
    const ms = performance.now() - t0;
    if (format === 'npy') {
      const text = m.columns.find((c) => c.type === 'utf8');
      if (text) throw new MistiqueError('BAD_OPTION', `cannot write .npy to stdout: .npy holds numbers and column ${text.key} holds text; use --format csv or json (or select numeric columns)`);
      for (const b of [npyValuesHeader(m, m.nrows), bytesOf(m.values), npyHeader('<i4', [m.nrows]), bytesOf(m.rowIds)]) await write!(b);
      io.err(`query ${ms.toFixed(1)} ms`);
    } else if (format !== 'table') {
      await writeText(io, m, format);
      io.err(`query ${ms.toFixed(1)} ms`);
    } else if (opts.out) {
      const files = await writeMatrix(m, opts.out);
      io.out(`wrote ${m.nrows} rows × ${m.ncols} columns to ${files.join(' and ')} in ${(performance.now() - t0).toFixed(0)} ms (the query ${ms.toFixed(1)} ms of it)`);
    } else {
      // on a terminal, as many columns as fit its width (the rest are counted; --format csv shows all)
      io.out(formatMatrix(m, limit, 8, process.stdout.isTTY ? process.stdout.columns : undefined, preview?.length ?? m.nrows));
      io.out(`query ${ms.toFixed(1)} ms (${m.sources.map((x) => `${x.key}: ${x.path === 'read' ? 'read' : 're-run'}${x.loss !== 'none' && x.path === 'read' ? `, ${x.loss}` : ''}`).join('; ')})`);
    }
  }, false, io);
}

/** A result as data on stdout: streamed a few MB at a time where stdout takes bytes (the command), else as one text. */
async function writeText(io: Io, m: Matrix, format: 'csv' | 'json' | 'jsonl'): Promise<void> {
  if (!io.write) { io.out(matrixText(m, format).replace(/\n$/, '')); return; }
  for (const piece of matrixTextPieces(m, format)) await io.write(Buffer.from(piece, 'utf8'));
}

/** `mistique explain <keys> [--rows] [--run]`: the cost model's estimates, choice and reason. */
export async function explainCmd(dir: string, keys: string[], opts: { rows?: string; run?: boolean; measure?: boolean; path?: string; json?: boolean }, io: Io): Promise<void> {
  if (keys.length === 0) throw new MistiqueError('BAD_KEY', 'give at least one key, e.g. `mistique explain zillow.P1.pred.*`');
  keys.forEach(parseKey);
  const rows = opts.rows !== undefined ? parseRows(opts.rows) : undefined;
  const path = queryPath(opts.path);
  await withStore(dir, async (s) => {
    const es = await s.explain(keys, { ...(rows ? { rows } : {}), path, run: opts.run === true, measure: opts.measure === true });
    if (opts.json) { io.out(JSON.stringify(es, null, 2)); return; }
    const ms = (v: number | undefined) => (v === undefined ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(0));
    io.out(formatTable(['intermediate', 'rows', 'stored', 'read est ms', 're-run est ms', 'choice', ...(opts.run ? ['measured ms'] : []), 'why'],
      es.map((e) => [e.key, e.rows, e.materialized ? 'yes' : 'no', ms(e.read?.ms), ms(e.rerun?.ms), e.choice, ...(opts.run ? [ms(e.measured?.ms)] : []), e.reason]),
      [false, true, false, true, true, false, ...(opts.run ? [true] : []), false]));
    for (const e of es) {
      const parts: string[] = [];
      if (e.read) parts.push(`read: ${e.read.blocks} RowBlocks, ${e.read.segments} segments to decode, ${formatBytes(e.read.rawBytes)} (${formatBytes(e.read.storedBytes)} on disk${e.read.cachedBytes ? `, ${formatBytes(e.read.cachedBytes)} already decoded` : ''}), ${formatBytes(e.read.outBytes)} of result; model ${describeRate(e.read.coef)} (${e.read.source}${e.read.reads ? `, ${e.read.reads} reads` : ''})${accuracyText(e.read.accuracy, 'reads')}`);
      if (e.rerun) parts.push(`re-run: ${Object.entries(e.rerun.terms).map(([k, v]) => `${k} ${+v.toPrecision(4)}`).join(', ')}${accuracyText(e.rerun.accuracy, 're-runs')}`);
      if (e.gamma !== undefined) parts.push(`γ ${e.gamma.toPrecision(3)} s/GB${e.materializedNow ? ', materialized now' : ''}`);
      io.out(`${e.key}: ${parts.join('; ')}`);
    }
  }, false, io);
}

/** How the last runs of a kind compared with their estimates: 'the last 20 reads took 0.82–2.90× of their estimates (median 1.35×)'. */
function bandSummary(b: Band, what?: string): string {
  return `the last ${b.runs}${what ? ` ${what}` : ''} took ${bandText(b)} of their estimates (median ${b.median.toFixed(2)}×)`;
}

/** bandSummary for explain's detail lines (nothing before three runs). */
function accuracyText(b: Band | null, what: string): string {
  return b ? `; ${bandSummary(b, what)}` : '';
}

export async function stats(dir: string, opts: { json?: boolean }, io: Io): Promise<void> {
  await withStore(dir, async (s) => {
    const st = s.stats();
    if (opts.json) { io.out(JSON.stringify(st, null, 2)); return; }
    io.out(`store ${st.dir}  (codec ${st.codec}, policy ${st.policy})`);
    io.out(`${st.intermediates} intermediates, ${st.chunks} stored chunks in ${st.partitions} partitions`);
    io.out(`logged ${formatBytes(st.bytesLogged)} → unique ${formatBytes(st.bytesUnique)} (dedup ${st.dedupRatio.toFixed(2)}×) → on disk ${formatBytes(st.bytesOnDisk)} (compression ${st.compressionRatio.toFixed(2)}×)`);
    const groups = new Map<string, { raw: number; stored: number; n: number }>();
    for (const i of st.items) {
      const model = i.key.split('.').slice(0, 2).join('.');
      const g = groups.get(model) ?? { raw: 0, stored: 0, n: 0 };
      g.raw += i.bytesRaw; g.stored += i.bytesStored; g.n++;
      groups.set(model, g);
    }
    io.out('');
    io.out(formatTable(['project.model', 'intermediates', 'logged', 'stored'],
      [...groups].map(([k, g]) => [k, g.n, formatBytes(g.raw), formatBytes(g.stored)]), [false, true, true, true]));
    // the cost model on this machine: what it has measured, and how far its estimates have been off
    const rates = Object.entries(await s.readRates());
    const bands = Object.entries(s.estimateAccuracy());
    if (rates.length || bands.length) {
      io.out('');
      io.out('cost model on this machine:');
      for (const [k, r] of rates) io.out(`  read model ${k}: ${describeRate(r.coef)} (${r.reads} reads)`);
      for (const [k, b] of bands) io.out(`  ${k.replace(/^read:/, 'reads ').replace(/^rerun:/, 're-runs ')}: ${bandSummary(b)}`);
    }
  }, false, io);
}

export async function logFile(dir: string, key: string | undefined, file: string | undefined, opts: { shape?: string; replace?: boolean }, io: Io): Promise<void> {
  if (!key || !file) throw new MistiqueError('BAD_OPTION', 'usage: mistique log <project.model.intermediate> <file.csv|.npy|.arrow|.parquet>');
  if (path.extname(file).toLowerCase() === '.npy') return logNpy(dir, key, file, opts, io);
  const { frame, shape, rowIds } = await readFrame(file);
  const explicit = opts.shape ? opts.shape.split(/[x,×]/).map(Number) : undefined;
  await withStore(dir, async (s) => {
    const info = await s.log(key, frame, { shape: explicit ?? (shape && shape.length > 1 ? shape : undefined), rowIds, replace: opts.replace });
    io.out(logged(info));
  }, true, io);
}

/** `mistique log p.m.i x.npy`: the array streamed from the file a batch at a time (any size), with a progress bar. */
async function logNpy(dir: string, key: string, file: string, opts: { replace?: boolean }, io: Io): Promise<void> {
  if (!fs.existsSync(file)) throw new MistiqueError('NOT_FOUND', `input file ${file} does not exist`);
  const npy = npyFrames(file); // a bad header is reported before the store is touched
  try {
    await withStore(dir, async (s) => {
      const bar = progress(key, npy.examples);
      try {
        const info = await s.logBatches(key, (async function* () { for await (const f of npy.frames()) { yield f; bar.tick(f.nrows); } })(), { replace: opts.replace });
        io.out(logged(info));
      } finally {
        bar.stop();
      }
    }, true, io);
  } finally {
    npy.close();
  }
}

function logged(info: IntermediateInfo): string {
  return `logged ${info.key}: ${info.rows} rows × ${info.columns} columns, ${formatBytes(info.bytesRaw)} raw, ${formatBytes(info.bytesNew)} new (${info.chunksDeduplicated} of ${info.chunks} chunks de-duplicated) in ${info.ms.toFixed(0)} ms`;
}

/** `mistique log pipeline.yaml --data dir`: runs a TRAD pipeline in logging mode with a progress bar. */
export async function logPipelineFile(dir: string, file: string, opts: { data?: string }, io: Io): Promise<void> {
  const spec = (await import('../executor/spec.js')).loadPipelineSpec(file); // a bad spec is reported before the store is touched
  const data = opts.data ?? process.env.MISTIQUE_DATA ?? path.dirname(path.resolve(file));
  await withStore(dir, async (s) => {
    const bar = progress(`${spec.project}.${spec.name}`, spec.stages.length);
    let r;
    try {
      r = await s.logIntermediates(spec, { data, onStage: () => bar.tick() });
    } finally {
      bar.stop();
    }
    io.out(formatTable(['stage', 'operator', 'rows', 'run ms', 'log ms'],
      r.stages.map((t) => [t.stage, t.op, t.rows ?? 'model', t.execMs.toFixed(1), t.logMs.toFixed(1)]), [false, false, true, true, true]));
    io.out(`logged ${spec.stages.length} stages of ${r.key} in ${r.totalMs.toFixed(0)} ms; read them with \`mistique get '${r.key}.<stage>.*'\``);
  }, true, io);
}

/** `mistique log --stream`: a framed stream of tensor batches on stdin (docs/STREAM.md); one JSON line of what was logged. */
export async function logStreamCmd(dir: string, opts: { scheme?: string }, io: Io, input: AsyncIterable<Uint8Array> | { fd: number } = { fd: 0 }): Promise<void> {
  const scheme = parseScheme(opts.scheme ?? 'none');
  await withStore(dir, async (s) => {
    const status = counter('log --stream');
    let batches = 0;
    let r;
    try {
      r = await s.logStream(input, { scheme, onBatch: (key, rows, bytes) => status.set(`${++batches} batches, ${formatBytes(bytes)} (${key}: ${rows} rows)`) });
    } finally {
      status.stop();
    }
    io.out(JSON.stringify({
      logged: r.intermediates.map((i) => ({ key: i.key, rows: i.rows, shape: i.shape, scheme: i.scheme, bytesRaw: i.bytesRaw, bytesNew: i.bytesNew })),
      batches: r.batches, bytes: r.bytes, ms: Math.round(r.ms),
    }));
  }, true, io);
}

/**
 * `mistique log checkpoint.onnx --model project.model`: every layer over Fashion-MNIST images, or over
 * the examples of `--input` .npy files (one group of examples per --input: images of one shape each).
 */
export async function logCheckpoint(dir: string, file: string, opts: { model?: string; images?: string; examples?: string; scheme?: string; batch?: string; input?: string[]; layers?: string }, io: Io): Promise<void> {
  if (!opts.model) throw new MistiqueError('BAD_OPTION', 'give the model name: mistique log checkpoint.onnx --model project.model (e.g. fmnist.cnn_e03)');
  parseModelKey(opts.model); // before any example is read
  if (opts.images !== undefined && !['test', 'train', 'subset'].includes(opts.images)) throw new MistiqueError('BAD_OPTION', `--images ${opts.images}: give test, train or subset (Fashion-MNIST), or your own examples with --input x.npy`);
  const scheme = parseScheme(opts.scheme ?? 'none');
  const limit = opts.examples === undefined ? Infinity : Number(opts.examples);
  if (!(limit >= 1)) throw new MistiqueError('BAD_OPTION', `--examples must be a positive number, got ${opts.examples}`);
  let input: DnnInput[];
  if (opts.input?.length) {
    if (opts.images) throw new MistiqueError('BAD_OPTION', 'give --images (Fashion-MNIST) or --input (your .npy files), not both');
    input = opts.input.map((spec) => npyGroup(spec, limit));
  } else {
    const which = opts.images ?? 'test';
    let set: ReturnType<typeof loadSubset>;
    try {
      set = which === 'subset' ? loadSubset() : loadFashionMnist(which === 'train' ? 'train' : 't10k');
    } catch (err) {
      // a network that does not take 28×28 images needs --input more than it needs the dataset
      if (err instanceof MistiqueError && err.code === 'NOT_FOUND') throw new MistiqueError('NOT_FOUND', `${err.message}; without --input, mistique log runs the network over Fashion-MNIST images: give your own examples with --input x.npy`, { cause: err });
      throw err;
    }
    const n = Math.min(set.n, limit);
    const x = new Float32Array(n * 784);
    for (let i = 0; i < x.length; i++) x[i] = set.images[i]! / 255;
    input = [{ x, shape: [1, 28, 28] }];
  }
  await withStore(dir, async (s) => {
    // the bar starts with the first batch, whose report carries the examples logNetwork counted in every group
    let bar: ReturnType<typeof progress> | undefined;
    let last = 0;
    let r;
    try {
      r = await s.logNetwork(opts.model!, file, input.length === 1 ? input[0]! : input, {
        scheme, batchSize: opts.batch ? Number(opts.batch) : undefined,
        ...(opts.layers !== undefined ? { layers: opts.layers.split(',').map((x) => x.trim()).filter(Boolean) } : {}),
        onBatch: (d, total) => { bar ??= progress(opts.model!, total); bar.tick(d - last); last = d; },
      });
    } finally {
      bar?.stop();
    }
    io.out(formatTable(['layer', 'original', 'op', 'shape'], r.layers.map((l) => [l.name, l.original, l.op, `[${l.shape.join(',')}]`])));
    io.out(`logged ${r.layers.length} layers of ${r.key} over ${r.examples} ${opts.input?.length ? 'examples' : 'images'} (${(await import('../executor/onnx/dnn.js')).schemeName(scheme)}, batches of ${r.batchSize}): load ${r.loadMs.toFixed(0)} ms, forward ${r.forwardMs.toFixed(0)} ms, logging ${r.logMs.toFixed(0)} ms`);
    const skipped = r.notPerExample;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: an empty list prints a line naming none
    if (skipped.length > 0) io.out(`not logged: ${skipped.length} layer output${skipped.length === 1 ? '' : 's'} that ${skipped.length === 1 ? 'is' : 'are'} not one row per example (leading dimension not the batch): ${skipped.slice(0, 8).map((l) => `${l.name} (${l.original})`).join(', ')}${skipped.length > 8 ? `, … ${skipped.length - 8} more` : ''}`);
  }, true, io);
}

/** What a .npy file's integers and bools are fed as (floats: as the model's input, whichever float it takes). */
const NPY_INPUT_TYPE: Partial<Record<NpyDescr, InputType>> = {
  '<i8': 'int64', '<u4': 'int64', '<i4': 'int32', '<i2': 'int16', '|i1': 'int8', '<u2': 'uint16', '|u1': 'uint8', '|b1': 'bool',
};

/** One `--input`: `examples.npy` (the model's one input), or `name=a.npy,name2=b.npy` (named inputs); the first axis is the examples'. */
function npyGroup(spec: string, limit: number): DnnInput {
  const parts = spec.split(',').map((p) => p.trim()).filter(Boolean);
  const read = (f: string): { data: NamedInput['data']; shape: number[]; type?: InputType } => {
    if (!fs.existsSync(f)) throw new MistiqueError('NOT_FOUND', `--input ${f} does not exist`);
    const { values: cut, shape, descr } = npyFirst(f, limit);
    if (shape.length < 2) throw new MistiqueError('BAD_FRAME', `--input ${f} has shape (${shape.join(', ')},): give (examples, …per-example dims)`);
    // half floats as float32; int64 as exact numbers (logNetwork checks each fits the model's input type)
    const data = descr === '<f2' ? fromFloat16(cut as Uint16Array) : cut instanceof BigInt64Array ? Float64Array.from(cut, (v) => Number(v)) : cut instanceof Uint32Array || cut instanceof Int16Array || cut instanceof Int8Array || cut instanceof Uint16Array ? Float64Array.from(cut) : cut;
    // integers say so: they are fed to an integer input (any width that holds them), never to a float one
    return { data, shape: shape.slice(1), type: NPY_INPUT_TYPE[descr] };
  };
  if (parts.length === 1 && !parts[0]!.includes('=')) {
    const { data, shape, type } = read(parts[0]!);
    return { x: data, shape, type };
  }
  const inputs: Record<string, NamedInput> = {};
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new MistiqueError('BAD_OPTION', `--input ${spec}: write name=file.npy for each of several inputs, separated by commas (e.g. input_ids=ids.npy,attention_mask=mask.npy)`);
    inputs[p.slice(0, eq)] = read(p.slice(eq + 1));
  }
  return { inputs };
}

/** `mistique rerun project.model.intermediate [--rows]`: re-creates an intermediate from stored operators. */
export async function rerunCmd(dir: string, key: string | undefined, opts: { rows?: string; limit?: string; format?: string }, io: Io): Promise<void> {
  const parts = key?.split('.') ?? [];
  if (parts.length !== 3) throw new MistiqueError('BAD_KEY', 'usage: mistique rerun <project.model.intermediate> [--rows R], e.g. zillow.P1_1.pred_test');
  const format = textFormat(opts.format, 'table');
  const limit = rowLimit(opts.limit);
  const sel = opts.rows !== undefined ? parseRows(opts.rows) : undefined;
  const rows = sel === undefined ? undefined : Array.isArray(sel) || ArrayBuffer.isView(sel) ? (sel as ArrayLike<number>) : rangeIds(sel as { start: number; end: number });
  await withStore(dir, async (s) => {
    if (format !== 'table') {
      // as data: every value at full precision, what it took on stderr (the same re-run a query's rerun path does)
      const t0 = performance.now();
      const m = await s.getIntermediates(`${key}.*`, { ...(rows ? { rows: Array.from(rows) } : {}), path: 'rerun' });
      await writeText(io, m, format);
      io.err(`re-run ${(performance.now() - t0).toFixed(0)} ms`);
      return;
    }
    if (s.metadata.workflows.get(parts[0]!, parts[1]!)?.kind === 'dnn') {
      const r = await s.rerunLayer(`${parts[0]}.${parts[1]}`, parts[2]!, rows ? { rows } : {});
      const per = r.shape.reduce((a, b) => a * b, 1);
      io.out(formatTable(['row_id', 'first values', 'max'], Array.from({ length: Math.min(limit, r.rowIds.length) }, (_, i) => {
        const v = r.values.subarray(i * per, (i + 1) * per);
        return [r.rowIds[i]!, Array.from(v.subarray(0, 6), (x) => +x.toPrecision(4)).join(' ') + (per > 6 ? ' …' : ''), +v.reduce((m, x) => (x > m ? x : m), -Infinity).toPrecision(4)];
      }), [true, false, true]));
      io.out(`${r.rowIds.length} rows of [${r.shape.join(', ')}], re-run through ${r.nodes} of ${r.totalNodes} graph nodes in ${r.ms.toFixed(0)} ms`);
      return;
    }
    const r = await s.rerun(`${parts[0]}.${parts[1]}`, parts[2]!, rows ? { rows } : {});
    const t = r.table;
    const n = Math.min(limit, t.nrows);
    io.out(formatTable(['row_id', ...t.names],
      Array.from({ length: n }, (_, i) => [t.rowIds[i]!, ...t.columns.map((c) => { const v = c[i]; return v === null || v === undefined ? '' : typeof v === 'number' ? +v.toPrecision(6) : v; })]),
      [true, ...t.columns.map((c) => c instanceof Float64Array)]));
    io.out(`${t.nrows} rows × ${t.names.length} columns, re-run through ${r.stages.length} stages (${r.stages.join(' ← ')}) in ${r.ms.toFixed(0)} ms`);
  }, false, io);
}

function rangeIds(r: { start: number; end: number }): number[] {
  return Array.from({ length: Math.max(0, r.end - r.start) }, (_, i) => r.start + i);
}


/**
 * mistique verify: the store checked whole. Exit 0 when sound, 1 when problems remain (3 when the
 * store cannot even be opened: its metadata.db is missing or damaged).
 */
export async function verify(dir: string, opts: { repair?: boolean; json?: boolean }, io: Io): Promise<number> {
  let store: Store;
  try {
    store = await openStore(dir, { create: false, lockTimeoutMs });
  } catch (err) {
    if (!(err instanceof MistiqueError) || err.code === 'NOT_A_STORE' && !/metadata/.test(err.message)) throw err;
    if (opts.json) io.out(JSON.stringify({ ok: false, open: { code: err.code, message: err.message } }));
    else io.out(`store ${path.resolve(dir)} cannot be opened: ${err.message}`);
    return 3;
  }
  noteRecovered(store, io);
  try {
    let bar: ReturnType<typeof progress> | null = null;
    const r = await store.verify({
      repair: opts.repair,
      onPartition: (done, total) => { bar ??= progress('verify', total); bar.tick(); if (done === total) bar.stop(); },
    });
    if (opts.json) { io.out(JSON.stringify(r, null, 2)); return r.ok || r.repaired ? 0 : 1; }
    io.out(`store ${store.dir}: ${r.partitions} partitions, ${r.segments} segments, ${formatBytes(r.bytes)} checked; metadata.db ${r.metadata.join('; ')}`);
    for (const d of r.damagedRows) io.out(`  damaged metadata row of ${d.table} (${d.row}) — affects ${d.intermediates.join(', ') || 'no intermediate'}`);
    for (const b of r.badSegments) io.out(`  bad segment ${b.file} #${b.segment}: ${b.error} — serves ${b.intermediates.join(', ') || 'nothing'}`);
    for (const f of r.missingFiles) io.out(`  missing partition file ${f}`);
    for (const l of r.lostSources) io.out(`  source file ${l.file} of ${l.model} is ${l.problem} since it was logged: its stages cannot be re-run${l.notStored.length ? `, and the ${l.notStored.length} not stored cannot be read` : ' (they are stored: they read)'} — put the file back as it was`);
    for (const c of r.missingCheckpoints) io.out(`  missing checkpoint ${c.file} of ${c.model}: its layers cannot be re-run${c.notStored.length ? `, and the ${c.notStored.length} not stored cannot be read` : ''} — log the model again to restore it`);
    if (r.unreadable.length) io.out(`  ${r.unreadable.length} intermediates cannot be read whole: ${r.unreadable.join(', ')}`);
    if (r.orphanFiles.length) io.out(`  ${r.orphanFiles.length} files in partitions/ belong to no partition: ${r.orphanFiles.join(', ')}`);
    if (r.orphanIndexFiles.length) io.out(`  ${r.orphanIndexFiles.length} files in indexes/ belong to no vector index (a build stopped half-way): ${r.orphanIndexFiles.join(', ')}`);
    if (r.orphanBlobs.count) io.out(`  ${r.orphanBlobs.count} stored chunks (${formatBytes(r.orphanBlobs.rawBytes)} raw) are referenced by no intermediate (aborted or dropped writes); they take space, not data`);
    if (r.repaired) io.out(`repaired: dropped ${r.repaired.intermediates.length} intermediates${r.repaired.intermediates.length ? ` (${r.repaired.intermediates.join(', ')})` : ''}, removed ${r.repaired.files.length} files`);
    else io.out(r.ok ? 'ok' : 'problems found: `mistique verify --repair` drops what cannot be read and removes the stray files');
    return r.ok || r.repaired ? 0 : 1;
  } finally {
    await store.close();
  }
}
