// Re-running a logged network up to one layer (paper §5.3: re-run or read): the stored checkpoint cut
// after the layer, run on only the asked rows, their inputs read from the store.
import path from 'node:path';
import * as ort from './ort.js';
import { MistiqueError } from '../../errors.js';
import { loadCheckpoint } from './checkpoint.js';
import type { NetworkSink } from './dnn.js';
import { layerGroups, lostCheckpoint, rowsOfGroup, type DnnSpec } from './dnnspec.js';
import { fixedBatch, parseGraph, truncateAt, type Layer } from './graph.js';
import { batchTensors, storedFeeds, type Feed } from './inputs.js';
import { runSession, SESSION_OPTIONS } from './session.js';

export interface LayerRerun {
  values: Float32Array; shape: number[]; rowIds: Int32Array; nodes: number; totalNodes: number; ms: number;
  /** The values are pooled as the layer was stored (`asStored` on a layer onnxruntime pooled when logging). */
  pooled?: boolean;
}

/**
 * Re-runs a logged network up to one layer, on only the asked rows: their inputs are read from the
 * store, the stored checkpoint is cut after the layer, and only that graph runs. Full precision (no scheme).
 * A network logged over several input shapes runs each group of examples on its own; the result's rows
 * are in the asked order (all rows: in the order they were logged).
 */
export async function rerunLayer(store: NetworkSink, modelKey: string, layer: string, rows?: ArrayLike<number>, batchSize?: number, opts: { asStored?: boolean } = {}): Promise<LayerRerun> {
  const [project, model] = modelKey.split('.');
  const wf = project && model ? store.metadata.workflows.get(project, model) : undefined;
  if (!wf || wf.kind !== 'dnn') throw new MistiqueError('NOT_FOUND', `${modelKey} is not a logged network`);
  const spec = JSON.parse(wf.spec) as DnnSpec;
  const t0 = performance.now();
  const lost = lostCheckpoint(store.dir, modelKey, spec);
  if (lost) throw new MistiqueError('NOT_FOUND', lost);
  const g = parseGraph(loadCheckpoint(path.join(store.dir, 'checkpoints', spec.checkpoint)), 'nodes');
  const sl = spec.layers.find((s) => s.name === layer);
  const l: Layer | undefined = g.layers.find((x) => x.original === sl?.original);
  if (!l) throw new MistiqueError('NOT_FOUND', `${modelKey} has no layer ${layer}; layers: ${spec.layers.map((s) => s.name).join(', ')}`);
  // the layers logged with it stay outputs: the same kernels run as when it was logged (see truncateAt)
  // asStored: a layer onnxruntime pooled when logged is pooled by the same kernel (a re-run then gives
  // the stored values bit for bit; pooling the full-precision output in JavaScript rounds differently)
  const pool = opts.asStored && sl?.graphPool ? spec.scheme.pool?.sigma : undefined;
  const cut = truncateAt(g, l, [...new Set(spec.layers.map((s) => s.original))], pool);
  const session = await ort.InferenceSession.create(cut.bytes, SESSION_OPTIONS);
  try {
    // a model of a fixed batch size re-runs in batches of that size, whatever was asked
    const fixedB = fixedBatch(g);
    const B = fixedB ?? batchSize ?? spec.batchSize;
    const parts: { values: Float32Array; shape: number[]; rowIds: Int32Array }[] = [];
    for (const grp of layerGroups(spec, layer)) {
      const asked = rows === undefined ? undefined : rowsOfGroup(grp, rows);
      if (asked && asked.length === 0) continue;
      const reads = await Promise.all(grp.inputs.map((sp) => store.getIntermediates(`${sp.key}.*`, asked ? { rows: asked } : {})));
      parts.push({ ...(await runGroup(session, `${modelKey}.${layer}`, cut.output, storedFeeds(grp.inputs, reads), reads[0]!.nrows, B, fixedB, sl?.block ?? 1)), rowIds: reads[0]!.rowIds });
    }
    const shape = parts[0]?.shape ?? [];
    let values = parts[0]?.values ?? new Float32Array(0);
    let rowIds = parts[0]?.rowIds ?? new Int32Array(0);
    if (parts.length > 1) {
      // groups ran one after another: their rows go back to the asked order
      const per = shape.reduce((a, b) => a * b, 1);
      const at = new Map<number, [Float32Array, number]>();
      for (const p of parts) p.rowIds.forEach((id, i) => at.set(id, [p.values, i]));
      rowIds = rows === undefined ? Int32Array.from(parts.flatMap((p) => Array.from(p.rowIds))) : Int32Array.from(rows);
      values = new Float32Array(rowIds.length * per);
      rowIds.forEach((id, i) => {
        const hit = at.get(id);
        if (!hit) throw new MistiqueError('NOT_FOUND', `${modelKey}.${layer} has no row ${id}`);
        values.set(hit[0].subarray(hit[1] * per, (hit[1] + 1) * per), i * per);
      });
    }
    return { values, shape, rowIds, nodes: cut.nodes, totalNodes: (g.model.graph?.node ?? []).length, ms: performance.now() - t0, ...(pool !== undefined ? { pooled: true } : {}) };
  } finally {
    await session.release();
  }
}

/**
 * One group's examples through the cut graph, batch by batch as when logged: memory stays at one batch of
 * activations plus the result. `block`: the output's rows per example (an example's row is [block, …]).
 */
async function runGroup(session: ort.InferenceSession, what: string, output: string, feeds: readonly Feed[], n: number, B: number, fixedB: number | null, block = 1): Promise<{ values: Float32Array; shape: number[] }> {
  let values: Float32Array | null = null;
  let shape: number[] = [];
  for (let s = 0; s < n; s += B) {
    const e = Math.min(n, s + B);
    // a truncated graph takes only the inputs its layer depends on
    const all = batchTensors(feeds, s, e);
    const used = Object.fromEntries(session.inputNames.map((name) => [name, all[name]!]));
    const out = await runSession(session, what, used, s, e, fixedB);
    const t = out[output]!;
    if (Number(t.dims[0]) !== block * (e - s)) throw new MistiqueError('CORRUPT', `${what}: the re-run gives ${t.dims[0]} rows for ${e - s} examples, logged as ${block} per example`);
    if (!values) {
      shape = [...(block > 1 ? [block] : []), ...(t.dims as number[]).slice(1).map(Number)];
      values = new Float32Array(n * shape.reduce((a, b) => a * b, 1));
    }
    values.set(t.data as Float32Array, s * (values.length / n));
  }
  return { values: values ?? new Float32Array(0), shape };
}
