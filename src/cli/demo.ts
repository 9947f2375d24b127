// The demo: logs a small bundled workload into a fresh store and answers a few diagnostic queries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateZillow } from '../../datasets/zillow/generate.js';
import { loadPipelineSpec } from '../executor/spec.js';
import { bundledPipelines } from '../paths.js';
import { mulberry32 } from '../../datasets/random.js';
import { MistiqueError } from '../errors.js';
import { DataFrame } from '../model/dataframe.js';
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
  const r = mulberry32(7);
  const acts = new Float32Array(500 * 4 * 8 * 8).map((_, i) => Math.max(0, Math.sin(i / 17) + (r() - 0.5)));
  await store.log('demo.cnn_e01.conv1', DataFrame.fromTensor(acts, [4, 8, 8]), { originalName: '/features/0/Conv_output_0' });
  io.out('   logged demo.cnn_e01.conv1: 500 examples × [4, 8, 8]');
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

  io.out('\n6. the activation map of channel 2 of conv1 for example 7 (8×8)');
  const map = await store.getIntermediates('demo.cnn_e01.conv1.2_*', { rows: [7] });
  for (let y = 0; y < 8; y++) io.out('   ' + Array.from(map.values.subarray(y * 8, y * 8 + 8), (x) => ' ▁▂▃▄▅▆▇█'[Math.min(8, Math.floor(x * 4))]).join(' '));

  const st = store.stats();
  io.out(`\n7. storage: logged ${formatBytes(st.bytesLogged)}; P2_1 shares every stage before training with P1_1 and most stages repeat columns, so de-duplication keeps ${formatBytes(st.bytesUnique)} (${st.dedupRatio.toFixed(1)}×), gzip writes ${formatBytes(st.bytesOnDisk)} (${st.compressionRatio.toFixed(1)}× more)`);
  await store.close();
  io.out(`\nexplore it: mistique ls --store ${dir}; mistique get 'zillow.P1_1.pred_test.*' --rows ${row} --store ${dir}; mistique rerun zillow.P1_1.fit --rows 1-3 --store ${dir}`);
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
