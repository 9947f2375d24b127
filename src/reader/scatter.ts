// Decoding a scan's chunks straight into the result (issue #16: "decodes straight into the result
// buffer"): a worker thread that inflated a run of segments (store/inflate.ts) goes on to reconstruct
// each row-major chunk's values (quantized schemes) and copy its rows into the dense result, which
// lives in a SharedArrayBuffer — the main thread copies nothing. Pure given its task.
import { keptEncoded, type DecodedSegment, type InflateCodec, type Slot } from '../store/codecs/codec.js';
import { RawSegment } from '../store/codecs/raw.js';
import { MistiqueError } from '../errors.js';
import type { MatrixValues } from '../model/matrix.js';
import { identity, reconstructor, rowMajor, type Reconstruct } from './reconstruct.js';
import { isRun, RowMajorSink, type BlockRows } from './sink.js';

/** Which result columns a chunk's tile fills: tile columns ks (ascending) → result columns ocs. */
export interface TileMap { ks: Int32Array; ocs: Int32Array }

/**
 * A TileMap as a task carries it to a worker: the arrays, or — when the tile's columns go to adjacent
 * result columns, as every tile of a whole-tensor read does — the run alone (first column, first result
 * column, count), which the worker expands.
 */
export type WireTile = TileMap | { run: readonly [k0: number, oc0: number, n: number] };

/** Where one stored chunk goes: the index of its segment in the inflate task, its slot, its tile and RowBlock rows. */
export interface ChunkPlacement { seg: number; slot: Slot; tile: number; block: number }

/** What the reader asks of the chunks of one run of segments. */
export interface ScatterTask {
  /** The dense row-major result, over a SharedArrayBuffer. */
  out: MatrixValues;
  ncols: number;
  /** How stored values become the result's (the intermediate's key, scheme and KBIT_QT(uint8) codebook). */
  key: string;
  scheme: string | null;
  codebook: Float32Array | null;
  tiles: WireTile[];
  blocks: BlockRows[];
  chunks: ChunkPlacement[];
}

/**
 * The part of a scan step's task that one run of segments needs: the tiles and RowBlocks its chunks
 * use (re-indexed), run tiles as runs. Every task is structured-cloned to a worker; a step's whole
 * task — 16 RowBlocks' row arrays and every tile's column maps (~100 KB for bench:io's tensor) —
 * cloned for each 1 MB range cost the main thread and the workers' collector more than the copying.
 * Pure.
 */
export function rangeTask(task: Omit<ScatterTask, 'chunks'>, placed: readonly ChunkPlacement[]): ScatterTask {
  const tileAt = new Map<number, number>(), blockAt = new Map<number, number>();
  const tiles: WireTile[] = [], blocks: BlockRows[] = [];
  const chunks = placed.map((p) => {
    let tile = tileAt.get(p.tile);
    if (tile === undefined) {
      tileAt.set(p.tile, (tile = tiles.length));
      tiles.push(wireTile(task.tiles[p.tile]!));
    }
    let block = blockAt.get(p.block);
    if (block === undefined) {
      blockAt.set(p.block, (block = blocks.length));
      blocks.push(task.blocks[p.block]!);
    }
    return { ...p, tile, block };
  });
  return { ...task, tiles, blocks, chunks };
}

function wireTile(t: WireTile): WireTile {
  if ('run' in t || !isRun(t.ks, t.ocs)) return t;
  return { run: [t.ks[0]!, t.ocs[0]!, t.ks.length] };
}

/** Runs expanded on this thread, kept (at most EXPANDED_BYTES of them): a scan's tasks use the same few again and again. */
const expanded = new Map<string, TileMap>();
let expandedBytes = 0;

/** A WireTile as the sink takes it (a run expanded, or taken from the ones expanded before). */
export function tileMapOf(t: WireTile): TileMap {
  if (!('run' in t)) return t;
  const [k0, oc0, n] = t.run;
  const key = `${k0}:${oc0}:${n}`;
  let m = expanded.get(key);
  if (!m) {
    m = { ks: new Int32Array(n), ocs: new Int32Array(n) };
    for (let i = 0; i < n; i++) { m.ks[i] = k0 + i; m.ocs[i] = oc0 + i; }
    // the oldest go first
    for (const [k, old] of expanded) {
      if (expandedBytes + 8 * n <= EXPANDED_BYTES) break;
      expanded.delete(k);
      expandedBytes -= 8 * old.ks.length;
    }
    expanded.set(key, m);
    expandedBytes += 8 * n;
  }
  return m;
}
/** A few wide layers' tiles (a tile's two maps take 8 bytes a column: 256 KB for a 32 768-column tile). */
const EXPANDED_BYTES = 4 * 1024 * 1024;

/**
 * Whether a scan's segments are checked and decoded on the worker threads: always for the compressing
 * codecs (gzip, LZ4: inflating is the work), and for Arrow IPC tensors — copying their rows into the
 * result is the work, and most of it is first-touching the result's fresh pages, which two threads do
 * side by side (fp32 full reads of bench:io's tensor, 8 interleaved pairs: 163 → 149 ms median, faster
 * in 7 of 8; it was 7% slower while every worker first loaded apache-arrow), and Parquet tensors —
 * parquet-wasm's decoding is the work, one core each. Tables stay on the main thread.
 */
export function workersDecode(codec: InflateCodec | undefined, rowMajor: boolean): boolean {
  return codec !== undefined && (!keptEncoded(codec) || rowMajor);
}

/** Whether a read of this scheme reconstructs values (quantized) or returns them as stored. */
export function storedAsIs(scheme: string | null): boolean {
  return !scheme || scheme === 'none' || /^pool\([^)]*\)$/.test(scheme);
}

/** Arrow IPC's decoder, loaded by loadCodec: apache-arrow takes ~100 ms to load, which a worker thread
 * (started by a process's first scan) spent before every gzip or LZ4 scan it ran. */
let ipcSegment: ((bytes: Uint8Array) => DecodedSegment) | null = null;
/** Parquet's decoder (parquet-wasm, ~40 ms to load), loaded by loadCodec likewise. */
let parquetSegment: ((bytes: Uint8Array, rawLength: number) => DecodedSegment) | null = null;

/** Loads what segmentView needs for `codec` on this thread (Arrow IPC's or Parquet's decoder; nothing for gzip and LZ4). */
export async function loadCodec(codec: InflateCodec): Promise<void> {
  if (codec === 'arrow' && !ipcSegment) ipcSegment = (await import('../store/codecs/arrowbatch.js')).ipcSegment;
  if (codec === 'parquet' && !parquetSegment) parquetSegment = await (await import('../store/codecs/parquet.js')).parquetSegmentDecoder();
}

/** A segment's decoded view: raw bytes (gzip, lz4), Arrow IPC bytes (arrow) zero-copy, or a Parquet file decoded (parquet); Arrow's and Parquet's after loadCodec. */
export function segmentView(codec: InflateCodec, bytes: Uint8Array): DecodedSegment {
  if (!keptEncoded(codec)) return new RawSegment(bytes);
  const view = codec === 'arrow' ? ipcSegment : parquetSegment;
  if (!view) throw new MistiqueError('INTERNAL', `the ${codec} decoder is not loaded on this thread: await loadCodec('${codec}') first`);
  return view(bytes, bytes.byteLength);
}

/** Copies the placed chunks of segment `seg` (its bytes, as `codec` stores them) into the result. */
export function scatterSegment(seg: number, raw: Uint8Array, t: ScatterTask, plan: ScatterPlan, codec: InflateCodec): void {
  const segment = segmentView(codec, raw);
  for (const p of plan.bySeg.get(seg) ?? []) {
    const tile = plan.tiles[p.tile]!;
    plan.sink.copyRows(plan.decode(segment.chunk(p.slot)), t.blocks[p.block]!, tile.ks, tile.ocs);
  }
}

/** What scatterSegment needs, built once per task: the decoder, the sink, the tiles and the placements by segment. */
export interface ScatterPlan { decode: Reconstruct; sink: RowMajorSink; tiles: TileMap[]; bySeg: Map<number, ChunkPlacement[]> }

export function scatterPlan(t: ScatterTask): ScatterPlan {
  const bySeg = new Map<number, ChunkPlacement[]>();
  for (const p of t.chunks) {
    const list = bySeg.get(p.seg);
    if (list) list.push(p);
    else bySeg.set(p.seg, [p]);
  }
  return { decode: rowMajor(storedAsIs(t.scheme) ? identity : reconstructor(t.key, t.scheme!, t.codebook)), sink: new RowMajorSink(t.out, t.ncols), tiles: t.tiles.map(tileMapOf), bySeg };
}
