// The demo: logs a small bundled workload into a fresh store and answers a few diagnostic queries.
import fs from 'node:fs';
import path from 'node:path';
import { generateHomes } from '../../datasets/homes/generate.js';
import { mulberry32 } from '../../datasets/random.js';
import { MistiqueError } from '../errors.js';
import { DataFrame } from '../model/dataframe.js';
import { openStore } from '../mistique.js';
import type { Io } from './commands.js';
import { formatBytes, formatMatrix } from './format.js';
import { progress } from './progress.js';

export async function demo(dir: string, io: Io): Promise<void> {
  resetStoreDir(dir);
  const store = await openStore(dir, { policy: 'dedup' });
  const homes = generateHomes(3000);
  const rowIds = homes.parcelid;
  const { parcelid: _, logerror, ...properties } = homes;
  io.out(`mistique demo — store ${path.resolve(dir)}\n`);
  io.out('1. logging two pipeline variants over 3000 homes, and a small network\'s activations');
  const features = fillNa(properties);
  const steps: [string, () => Promise<unknown>][] = [];
  for (const [model, w] of [['P1', [0.00002, -0.00001]], ['P2', [0.000021, -0.00001]]] as const) {
    steps.push([`demo.${model}.properties`, () => store.log(`demo.${model}.properties`, properties, { rowIds })]);
    steps.push([`demo.${model}.features`, () => store.log(`demo.${model}.features`, features, { rowIds })]);
    steps.push([`demo.${model}.pred`, () => store.log(`demo.${model}.pred`, { pred: predict(features, w), logerror }, { rowIds })]);
  }
  const r = mulberry32(7);
  const acts = new Float32Array(500 * 4 * 8 * 8).map((_, i) => Math.max(0, Math.sin(i / 17) + (r() - 0.5)));
  steps.push(['demo.cnn_e01.conv1', () => store.log('demo.cnn_e01.conv1', DataFrame.fromTensor(acts, [4, 8, 8]), { originalName: '/features/0/Conv_output_0' })]);
  const bar = progress('logging', steps.length);
  for (const [key, step] of steps) {
    await step();
    bar.tick();
    io.out(`   logged ${key}`);
  }
  bar.stop();
  await store.flush();

  const pid = rowIds[1234]!;
  io.out(`\n2. POINTQ: everything P1 knows about home ${pid}`);
  io.out(formatMatrix(await store.getIntermediates(['demo.P1.properties.*', 'demo.P1.pred.*'], { rows: [pid] })));

  io.out('\n3. TOPK: the 5 homes P1 mispredicts most');
  const pred = await store.getIntermediates(['demo.P1.pred.*']);
  const err = Array.from({ length: pred.nrows }, (_, i) => Math.abs((pred.get(i, 0) as number) - (pred.get(i, 1) as number)));
  const top = err.map((e, i) => [e, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5).map(([, i]) => pred.rowIds[i]!);
  io.out(formatMatrix(await store.getIntermediates(['demo.P1.pred.*', 'demo.P1.features.finishedsquarefeet', 'demo.P1.features.yearbuilt'], { rows: top })));

  io.out('\n4. COL_DIFF: homes where P1 and P2 predictions differ by more than 0.001');
  const both = await store.getIntermediates(['demo.P1.pred.pred', 'demo.P2.pred.pred']);
  const differ = Array.from(both.rowIds).filter((_, i) => Math.abs((both.get(i, 0) as number) - (both.get(i, 1) as number)) > 0.001);
  io.out(`   ${differ.length} of ${both.nrows} homes, e.g. ${differ.slice(0, 5).join(', ')}`);

  io.out('\n5. the activation map of channel 2 of conv1 for example 7 (8×8)');
  const map = await store.getIntermediates('demo.cnn_e01.conv1.2_*', { rows: [7] });
  for (let y = 0; y < 8; y++) io.out('   ' + Array.from(map.values.subarray(y * 8, y * 8 + 8), (v) => ' ▁▂▃▄▅▆▇█'[Math.min(8, Math.floor(v * 4))]).join(' '));

  const st = store.stats();
  io.out(`\n6. storage: logged ${formatBytes(st.bytesLogged)}; P2's first two stages equal P1's, so exact de-duplication keeps ${formatBytes(st.bytesUnique)} (${st.dedupRatio.toFixed(2)}×), gzip writes ${formatBytes(st.bytesOnDisk)} (${st.compressionRatio.toFixed(2)}× more)`);
  await store.close();
  io.out(`\nexplore it: mistique ls --store ${dir}; mistique get 'demo.P1.pred.*' --rows ${pid} --store ${dir}`);
}

function fillNa(cols: Record<string, Float64Array | (string | null)[]>): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(cols)) {
    if (!(v instanceof Float64Array)) continue;
    let sum = 0, n = 0;
    for (const x of v) if (!Number.isNaN(x)) { sum += x; n++; }
    const mean = n ? sum / n : 0;
    out[k] = v.map((x) => (Number.isNaN(x) ? mean : x));
  }
  return out;
}

function predict(f: Record<string, Float64Array>, w: readonly [number, number]): Float64Array {
  const sq = f.finishedsquarefeet!, yb = f.yearbuilt!;
  return sq.map((s, i) => 0.01 + w[0] * (s - 1800) + w[1] * (yb[i]! - 1960));
}

/** Recreates the demo store; refuses to delete a directory that is not a mistique store. */
function resetStoreDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes('mistique.json')) {
    throw new MistiqueError('NOT_A_STORE', `${dir} exists and is not a mistique store: the demo will not delete it; pass --store with another directory`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
