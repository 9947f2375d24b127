// The demo: logs a small bundled workload into a fresh store and answers a few diagnostic queries.
import { knn, lookup, svcca } from '../diagnostics/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateZillow } from '../../datasets/zillow/generate.js';
import { loadPipelineSpec } from '../executor/spec.js';
import { bundledPipelines, packageRoot } from '../paths.js';
import { CLASSES, loadSubset } from '../../datasets/fashion-mnist/load.js';
import { MistiqueError } from '../errors.js';
import { openStore } from '../mistique.js';
import type { Io } from './commands.js';
import { formatBytes, formatMatrix } from './format.js';
import { progress } from './progress.js';

const DEMO_ROWS = 3000;
const DEMO_PIPELINES = ['P1_1', 'P2_1'];

export async function demo(dir: string, io: Io): Promise<void> {
  resetStoreDir(dir);
  const specs = bundledPipelines();
  const data = path.join(os.tmpdir(), `mistique-demo-zillow-${DEMO_ROWS}`);
  const files = generateZillow(data, DEMO_ROWS);
  const store = await openStore(dir, { policy: 'dedup' });
  io.out(`mistique demo — store ${path.resolve(dir)}\n`);
  io.out(`1. generated a Zillow-like dataset (${files.rows} properties, ${files.trainRows} sales) in ${data};`);
  io.out(`   logging pipelines ${DEMO_PIPELINES.join(' (LightGBM) and ')} (XGBoost) stage by stage, and a small network's activations`);
  for (const name of DEMO_PIPELINES) {
    const spec = loadPipelineSpec(path.join(specs, `${name}.yaml`));
    const bar = progress(`zillow.${name}`, spec.stages.length);
    const r = await store.logIntermediates(spec, { data, onStage: () => bar.tick() });
    bar.stop();
    io.out(`   logged ${r.key}: ${r.stages.length} stages (${r.stages.map((t) => t.stage).join(', ')}) in ${r.totalMs.toFixed(0)} ms`);
  }
  const subset = loadSubset();
  const x = new Float32Array(subset.n * 784);
  for (let i = 0; i < x.length; i++) x[i] = subset.images[i]! / 255;
  const net = await store.logNetwork('fmnist.tiny_e01', path.join(packageRoot(), 'datasets', 'fixtures', 'tiny_cnn.onnx'), { x, shape: [1, 28, 28] }, { batchSize: 128 });
  await store.log('fmnist.data.labels', { label: Float64Array.from(subset.labels) });
  io.out(`   logged fmnist.tiny_e01: ${net.layers.length} layers (${net.layers.map((l) => l.name).join(', ')}) of a small CNN over ${net.examples} Fashion-MNIST test images`);
  await store.flush();

  const row = 1234;
  io.out(`\n2. POINTQ: what both pipelines know about test row ${row}`);
  io.out(formatMatrix(await store.getIntermediates(['zillow.P1_1.test_joined.parcelid', 'zillow.P1_1.test_joined.bedroomcnt', 'zillow.P1_1.test_joined.calculatedfinishedsquarefeet',
    'zillow.P1_1.test_joined.yearbuilt', 'zillow.P1_1.pred_test.pred', 'zillow.P2_1.pred_test.pred'], { rows: [row] })));

  io.out('\n3. TOPK: the 5 validation sales P1_1 (LightGBM) mispredicts most');
  const v = await store.getIntermediates(['zillow.P1_1.pred_valid.pred', 'zillow.P1_1.labels.logerror']);
  const err = Array.from({ length: v.nrows }, (_, i) => Math.abs((v.get(i, 0) as number) - (v.get(i, 1) as number)));
  const top = err.map((e, i) => [e, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5).map(([, i]) => v.rowIds[i]!);
  io.out(formatMatrix(await store.getIntermediates(['zillow.P1_1.pred_valid.pred', 'zillow.P1_1.labels.logerror', 'zillow.P1_1.valid.calculatedfinishedsquarefeet', 'zillow.P1_1.valid.yearbuilt'], { rows: top })));

  io.out('\n4. COL_DIFF: test rows where LightGBM (P1_1) and XGBoost (P2_1) disagree by more than 0.01');
  const both = await store.getIntermediates(['zillow.P1_1.pred_test.pred', 'zillow.P2_1.pred_test.pred']);
  const differ = Array.from(both.rowIds).filter((_, i) => Math.abs((both.get(i, 0) as number) - (both.get(i, 1) as number)) > 0.01);
  io.out(`   ${differ.length} of ${both.nrows} rows, e.g. ${differ.slice(0, 5).join(', ')}`);

  io.out('\n5. re-run: P2_1.pred_test for 3 rows from the source files and the stored XGBoost model (no retraining)');
  const ids = [7, row, 2999];
  const rr = await store.rerun('zillow.P2_1', 'pred_test', { rows: ids });
  const stored = await store.getIntermediates('zillow.P2_1.pred_test.pred', { rows: ids });
  const same = ids.every((_, i) => Object.is(rr.table.columns[0]![i], stored.get(i, 0)));
  io.out(`   re-ran ${rr.stages.length} stages in ${rr.ms.toFixed(0)} ms: ${ids.map((id, i) => `${id} → ${(rr.table.columns[0]![i] as number).toFixed(5)}`).join(', ')}; equal to the stored values: ${same ? 'yes' : 'NO'}`);

  io.out('\n6. TOPK by a neuron: the 5 images that excite the "Ankle boot" logit (dense2[9]) most, with their labels');
  const logits = await store.getIntermediates(['fmnist.tiny_e01.dense2.9', 'fmnist.data.labels.label']);
  const order = Array.from({ length: logits.nrows }, (_, i) => i).sort((p, q) => (logits.get(q, 0) as number) - (logits.get(p, 0) as number)).slice(0, 5);
  io.out('   ' + order.map((i) => `image ${logits.rowIds[i]} (${CLASSES[logits.get(i, 1) as number]}, logit ${(logits.get(i, 0) as number).toFixed(1)})`).join(', '));

  io.out('\n7. the activation map of channel 2 of relu1 for image 7 (28×28, shown 14×14)');
  const map = await store.getIntermediates('fmnist.tiny_e01.relu1.2_*', { rows: [7] });
  const mx = (map.values as Float32Array).reduce((m, x) => (x > m ? x : m), 0) || 1;
  for (let y = 0; y < 28; y += 2) io.out('   ' + Array.from({ length: 14 }, (_, k) => ' ▁▂▃▄▅▆▇█'[Math.min(8, Math.floor(((map.values[y * 28 + 2 * k]! as number) / mx) * 8.99))]).join(''));

  io.out('\n8. read or re-run? the cost model per query (Eq. 5.2–5.4), then the measured time of its choice');
  for (const [key, rows] of [['zillow.P1_1.pred_test.*', [row]], ['fmnist.tiny_e01.relu1.*', [7, 8]], ['fmnist.tiny_e01.dense2.*', undefined]] as const) {
    const [e] = await store.explain(key, { ...(rows ? { rows: [...rows] } : {}), run: true });
    io.out(`   ${e!.key} (${e!.rows} rows): read ≈ ${e!.read!.ms.toFixed(1)} ms, re-run ≈ ${e!.rerun!.ms.toFixed(1)} ms → ${e!.choice}, took ${e!.measured!.ms.toFixed(1)} ms`);
  }

  io.out('\n9. diagnostics: SVCCA between the logits and pool2; the images nearest image 51 in pool2 space, with labels');
  const lg = await store.getIntermediates('fmnist.tiny_e01.dense2.*');
  const p2 = await store.getIntermediates('fmnist.tiny_e01.pool2.*');
  const sv = await svcca(lg, p2);
  io.out(`   SVCCA ${sv.mean.toFixed(3)} (${sv.a.kept} and ${sv.b.kept} directions keep 99% of the variance of 10 and ${sv.b.columns} columns)`);
  const labels = await store.getIntermediates('fmnist.data.labels.label');
  const nn = knn(p2, 51, { k: 5 });
  const lab = lookup(labels, [51, ...nn.rowIds]).rows.map((r) => CLASSES[r[0] as number]);
  io.out(`   image 51 (${lab[0]}): ${Array.from(nn.rowIds, (id, i) => `${id} (${lab[i + 1]}, ${nn.distances[i]!.toFixed(2)})`).join(', ')}`);

  const st = store.stats();
  io.out(`\n10. storage: logged ${formatBytes(st.bytesLogged)}; P2_1 shares every stage before training with P1_1 and most stages repeat columns, so de-duplication keeps ${formatBytes(st.bytesUnique)} (${st.dedupRatio.toFixed(1)}×), gzip writes ${formatBytes(st.bytesOnDisk)} (${st.compressionRatio.toFixed(1)}× more)`);
  await store.close();
  io.out(`\nexplore it (each line runs as printed, from this directory):`);
  const cmd = hintCommand(process.env.PATH ?? '', (f) => fs.existsSync(f), process.cwd(), packageRoot());
  for (const argv of demoHints(dir, row)) io.out(`  ${cmd} ${argv.map(shellQuote).join(' ')}`);
}

/**
 * How the user's shell reaches the command: `mistique` where it is on the PATH the shell has, else
 * `npx mistique` inside the package (a clone's `npm run demo`: npm puts node_modules/.bin on the PATH it
 * gives its scripts, which the shell afterwards does not have, and npx finds the package it stands in),
 * else — run from another directory — `node <the package>/dist/src/cli/bin.js` (npx would look for a
 * package named mistique on the registry). Pure.
 */
export function hintCommand(pathEnv: string, exists: (file: string) => boolean, cwd: string, root: string): string {
  const dirs = pathEnv.split(path.delimiter).filter((d) => d !== '' && !/node_modules[\\/]\.bin$|node-gyp-bin$/.test(d));
  if (dirs.some((d) => exists(path.join(d, 'mistique')))) return 'mistique';
  const rel = path.relative(root, cwd);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return 'npx mistique';
  return `node ${shellQuote(path.join(root, 'dist', 'src', 'cli', 'bin.js'))}`;
}

/** The commands the demo suggests next, as argv (the test runs every one on the demo's store). */
export function demoHints(dir: string, row = 1234): string[][] {
  return [
    ['ls', '--store', dir],
    ['get', 'zillow.P1_1.pred_test.*', '--rows', String(row), '--store', dir],
    ['rerun', 'zillow.P1_1.pred_test', '--rows', '1-3', '--store', dir],
    ['explain', 'fmnist.tiny_e01.*.*', '--rows', '1-5', '--store', dir],
    ['diagnose', 'heatmap', 'fmnist.tiny_e01.relu4', '--by', 'fmnist.data.labels', '--classes', 'fashion-mnist', '--per-channel', '--out', 'vis.png', '--store', dir],
  ];
}

function shellQuote(a: string): string {
  return /^[\w./=,:@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
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
