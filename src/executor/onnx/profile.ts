// Per-layer forward times for the cost model (paper Eq. 5.3: batches × the per-layer forward time
// summed up to layer i). The logging session runs with onnxruntime's profiler on for its first batches
// only (endProfiling stops it); the last profiled run gives every node's kernel time, and per layer we
// keep the time of one batch from the input through all nodes up to and including that layer (not the
// nodes logging adds to reduce what leaves the graph: graph.ts, exposeReduced).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REDUCE_PREFIX, type Layer } from './graph.js';

interface ProfileEvent { cat?: string; name?: string; ts?: number; dur?: number }

export function profilePrefix(): string {
  return path.join(os.tmpdir(), `mistique-profile-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`);
}

/** Removes what a profiling session left under `prefix` (onnxruntime creates its file with the session: a run that failed before `layerTimes` left an empty one in the temporary directory). */
export function dropProfiles(prefix: string): void {
  const dir = path.dirname(prefix);
  for (const f of fs.readdirSync(dir)) if (path.join(dir, f).startsWith(prefix)) fs.rmSync(path.join(dir, f), { force: true });
}

/** Reads (and deletes) the profile written under `prefix`; per layer, ms of one batch through it. */
export function layerTimes(prefix: string, nodeNames: readonly string[], layers: readonly Layer[]): Map<string, number> {
  const dir = path.dirname(prefix);
  const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  // µs per node index in the last profiled run. onnxruntime renames and inserts kernels when it optimizes
  // (a Conv becomes `<name>_output_0_nchwc`, layout changes `ReorderOutput_token_N`): a kernel is charged
  // to the node whose name it starts with, and an inserted one to the node that ran just before it.
  const perNode = new Float64Array(nodeNames.length);
  if (file) {
    try {
      const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
      const runs = events.filter((e) => e.name === 'model_run' && typeof e.ts === 'number' && typeof e.dur === 'number');
      const last = runs.at(-1);
      const kernels = events
        .filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time') && typeof e.dur === 'number' && typeof e.ts === 'number')
        .filter((e) => !last || (e.ts! >= last.ts! && e.ts! <= last.ts! + last.dur!))
        .sort((a, b) => a.ts! - b.ts!);
      const exact = new Map(nodeNames.map((n, i) => [n, i]));
      let current = 0;
      for (const e of kernels) {
        const name = e.name!.slice(0, -'_kernel_time'.length);
        // a scheme's pooling or cast that onnxruntime ran for logging is not part of any layer's forward time
        if (name.startsWith(REDUCE_PREFIX)) continue;
        let k = exact.get(name);
        if (k === undefined) {
          for (let i = 0; i < nodeNames.length && k === undefined; i++) if (nodeNames[i] && name.startsWith(`${nodeNames[i]}_`)) k = i;
        }
        if (k !== undefined) current = k;
        perNode[current] += e.dur!;
      }
    } finally {
      fs.rmSync(file, { force: true });
    }
  }
  const out = new Map<string, number>();
  let cum = 0, k = 0;
  for (const l of layers) {
    for (; k <= l.node && k < nodeNames.length; k++) cum += perNode[k]! / 1000;
    out.set(l.name, cum);
  }
  return out;
}
