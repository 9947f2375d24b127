// Layer outputs of k rows per example: an attention block's weights [batch × heads, tokens, tokens], a
// Swin block's windows [batch × windows, …] — the batch folded into the leading axis, example by example.
// Such a value is stored a row per example, as [k, …]. Whether the fold is batch-major (example 0's k rows
// first) or not ([tokens × batch, …], a time-major flatten, is not) is measured, not guessed from shapes:
// two examples through the network together must give, in their first k rows, what the first gives alone.
import type * as ort from './ort.js';
import { exposedName, type OnnxGraph } from './graph.js';
import { batchTensors, type Feed } from './inputs.js';
import { outputBytes, runSession } from './session.js';

/** Relative difference allowed between one example run alone and in a batch of two (kernels chosen by batch shape round differently). */
const TOLERANCE = 1e-4;

/** How the layers' outputs hold examples, from two examples run alone and together. */
export interface ExampleRows {
  /** Layers of k ≥ 2 rows per example, batch-major, by name → k. */
  blocks: Map<string, number>;
  /** Layers whose leading dimension does not follow the batch, or not example by example: not stored. */
  notPerExample: Set<string>;
  /** Bytes every exposed output of one example holds together (what a batch costs per example), when measured. */
  bytesPerExample?: number;
}

/**
 * How each layer's output holds its examples: the first two examples run through `session` (the exposed
 * network) alone and together. A leading dimension of 1 and 2 is one row per example; of k and 2k with
 * the first k rows the same, k rows per example; anything else (a leading dimension that stays, or rows
 * that interleave the examples) not per example — known before the first batch, whatever its size.
 * `batchOfOne`: a model that runs one example at a time (exported at batch 1), whose every output is that
 * example's — all of a leading dimension k ≥ 2 are its k rows ([tokens, 1, features] too), from one run.
 */
export async function exampleRows(session: ort.InferenceSession, modelKey: string, g: OnnxGraph, feeds: readonly Feed[], batchOfOne = false): Promise<ExampleRows> {
  const out: ExampleRows = { blocks: new Map(), notPerExample: new Set() };
  let one, two;
  try {
    one = await runSession(session, modelKey, batchTensors(feeds, 0, 1), 0, 1);
    two = batchOfOne ? one : await runSession(session, modelKey, batchTensors(feeds, 0, 2), 0, 2);
  } catch {
    return out; // the examples do not run: logging's first batch says why, naming them
  }
  out.bytesPerExample = outputBytes(one);
  for (const l of g.layers) {
    const a = one[exposedName(l)], b = two[exposedName(l)];
    if (!a || !b || (a.type !== 'float32' && a.type !== 'float64')) continue;
    const k = Number(a.dims[0]);
    if (batchOfOne) {
      if (k >= 2) out.blocks.set(l.name, k);
      else if (k !== 1) out.notPerExample.add(l.name);
      continue;
    }
    const rest = a.dims.length === b.dims.length && a.dims.every((d, i) => i === 0 || Number(d) === Number(b.dims[i]));
    if (k === 1 && Number(b.dims[0]) === 2 && rest) continue;
    if (k >= 2 && Number(b.dims[0]) === 2 * k && rest && sameRows(a.data as Float32Array, b.data as Float32Array)) out.blocks.set(l.name, k);
    else out.notPerExample.add(l.name);
  }
  return out;
}

/** Whether `two`'s first `alone.length` values are `alone`'s, within TOLERANCE of the largest finite magnitude. Pure. */
export function sameRows(alone: ArrayLike<number>, two: ArrayLike<number>): boolean {
  let scale = 1;
  for (let i = 0; i < alone.length; i++) if (Number.isFinite(alone[i])) scale = Math.max(scale, Math.abs(alone[i]!));
  for (let i = 0; i < alone.length; i++) {
    const x = alone[i]!, y = two[i]!;
    if (x === y) continue; // ±Infinity too (a mask added to attention scores)
    // NaN where the other has NaN (a masked row's softmax) is the same row
    if (Number.isNaN(x) || Number.isNaN(y)) { if (Number.isNaN(x) !== Number.isNaN(y)) return false; continue; }
    if (!(Math.abs(x - y) <= TOLERANCE * scale)) return false;
  }
  return true;
}
