// Writes the Zillow workload: 10 pipeline templates (paper Table 5.3) × 5 hyper-parameter variants =
// 50 YAML specs in datasets/zillow/pipelines/. The specs are committed; this script is how they were made.
//
//   node dist/datasets/zillow/make-pipelines.js
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

interface Stage { name: string; op: string; inputs?: string[]; params?: Record<string, unknown> }

const CATEGORICAL = ['propertycountylandusecode', 'propertyzoningdesc', 'hashottuborspa', 'fireplaceflag', 'taxdelinquencyflag'];
const TEST_DATES = ['201610', '201611', '201612'];

/** Source stages and optional property-side feature engineering; returns the stages and the properties stage to join. */
function prefix(opts: { avg?: boolean; recency?: boolean; ohe?: boolean }): { stages: Stage[]; props: string; train: string } {
  const s: Stage[] = [
    { name: 'properties', op: 'ReadCSV', params: { file: 'properties.csv' } },
    { name: 'train', op: 'ReadCSV', params: { file: 'train.csv' } },
    { name: 'test', op: 'ReadCSV', params: { file: 'test.csv' } },
  ];
  let props = 'properties', train = 'train';
  if (opts.avg) {
    s.push({ name: 'props_avg', op: 'Avg', inputs: [props], params: { columns: ['bathroomcnt', 'calculatedbathnbr', 'fullbathcnt'], as: 'avg_bathrooms' } });
    props = 'props_avg';
  }
  if (opts.recency) {
    s.push({ name: 'props_recency', op: 'GetConstructionRecency', inputs: [props], params: { column: 'yearbuilt', reference_year: 2017 } });
    props = 'props_recency';
  }
  if (opts.ohe) {
    s.push({ name: 'props_onehot', op: 'OneHotEncoding', inputs: [props], params: { columns: CATEGORICAL, max_categories: 12 } });
    s.push({ name: 'props_filled', op: 'FillNA', inputs: ['props_onehot'], params: { strategy: 'median' } });
    s.push({ name: 'train_filled', op: 'FillNA', inputs: ['train'], params: { strategy: 'value', value: 0 } });
    props = 'props_filled'; train = 'train_filled';
  }
  return { stages: s, props, train };
}

/** Joins, label selection, column dropping and the split; `extra` are parcel-level tables joined on afterwards. */
function middle(props: string, train: string, extra: { stage: Stage; name: string }[]): { stages: Stage[]; trainSet: string; testSet: string } {
  const s: Stage[] = [
    { name: 'train_joined', op: 'Join', inputs: [train, props], params: { on: 'parcelid' } },
    { name: 'test_joined', op: 'Join', inputs: ['test', props], params: { on: 'parcelid' } },
  ];
  let tr = 'train_joined', te = 'test_joined';
  for (const e of extra) {
    s.push(e.stage);
    s.push({ name: `train_${e.name}`, op: 'Join', inputs: [tr, e.stage.name], params: { on: 'parcelid' } });
    s.push({ name: `test_${e.name}`, op: 'Join', inputs: [te, e.stage.name], params: { on: 'parcelid' } });
    tr = `train_${e.name}`; te = `test_${e.name}`;
  }
  s.push(
    { name: 'labels', op: 'SelectColumn', inputs: [tr], params: { columns: ['parcelid', 'logerror'] } },
    { name: 'train_set', op: 'DropColumns', inputs: [tr], params: { columns: ['parcelid', 'transactiondate'], categorical: true } },
    { name: 'test_set', op: 'DropColumns', inputs: [te], params: { columns: ['parcelid', ...TEST_DATES], categorical: true } },
    { name: 'fit', op: 'TrainTestSplit', inputs: ['train_set'], params: { part: 'train', valid_fraction: 0.2, seed: 1 } },
    { name: 'valid', op: 'TrainTestSplit', inputs: ['train_set'], params: { part: 'valid', valid_fraction: 0.2, seed: 1 } },
  );
  return { stages: s, trainSet: 'fit', testSet: 'test_set' };
}

function predictions(model: string, suffix = ''): Stage[] {
  return [
    { name: `pred_valid${suffix}`, op: 'Predict', inputs: [model, 'valid'] },
    { name: `pred_test${suffix}`, op: 'Predict', inputs: [model, 'test_set'] },
  ];
}

type Template = (v: number) => Stage[];
const pickV = <T>(xs: readonly T[], v: number): T => xs[v % xs.length]!;

const lgbm = (v: number, extra: Record<string, unknown> = {}): Stage => ({
  name: 'model', op: 'TrainLightGBM', inputs: ['fit'],
  params: { learning_rate: pickV([0.02, 0.05, 0.1, 0.03, 0.08], v), sub_feature: pickV([0.5, 0.7, 0.9, 0.6, 0.8], v), min_data: pickV([20, 50, 100, 200, 500], v), num_leaves: 31, num_rounds: 80, ...extra },
});
const xgb = (v: number, extra: Record<string, unknown> = {}): Stage => ({
  name: 'model', op: 'TrainXGBoost', inputs: ['fit'],
  params: { eta: pickV([0.03, 0.05, 0.1, 0.2, 0.3], v), lambda: pickV([0.8, 1, 2, 5, 10], v), alpha: pickV([0, 0.4, 1, 2, 0.1], v), max_depth: pickV([4, 5, 6, 3, 7], v), num_rounds: 60, ...extra },
});
const enet = (v: number, normalize?: boolean): Stage => ({
  name: 'model', op: 'TrainElasticNet', inputs: ['fit'],
  params: { alpha: 0.0005, l1_ratio: pickV([0.1, 0.3, 0.5, 0.7, 0.9], v), tol: pickV([1e-3, 1e-4, 1e-5, 5e-4, 5e-5], v), ...(normalize === undefined ? {} : { normalize }) },
});

const TEMPLATES: Record<string, { description: string; make: Template }> = {
  P1: { description: 'LightGBM on the joined raw features', make: (v) => { const p = prefix({}); const m = middle(p.props, p.train, []); return [...p.stages, ...m.stages, lgbm(v), ...predictions('model')]; } },
  P2: { description: 'XGBoost on the joined raw features', make: (v) => { const p = prefix({}); const m = middle(p.props, p.train, []); return [...p.stages, ...m.stages, xgb(v), ...predictions('model')]; } },
  P3: { description: 'one-hot categorical codes, median-filled, ElasticNet', make: (v) => { const p = prefix({ ohe: true }); const m = middle(p.props, p.train, []); return [...p.stages, ...m.stages, enet(v), ...predictions('model')]; } },
  P4: { description: 'average bathroom counts, one-hot, filled, ElasticNet', make: (v) => { const p = prefix({ avg: true, ohe: true }); const m = middle(p.props, p.train, []); return [...p.stages, ...m.stages, enet(v, v % 2 === 0), ...predictions('model')]; } },
  P5: {
    description: 'XGBoost and ElasticNet, predictions combined',
    make: (v) => {
      const p = prefix({}); const m = middle(p.props, p.train, []);
      const w = pickV([0.5, 0.6, 0.7, 0.8, 0.9], v);
      const e = { ...enet(v), name: 'model_enet' };
      return [...p.stages, ...m.stages, xgb(v), e, ...predictions('model', '_xgb'), ...predictions('model_enet', '_enet'),
        { name: 'pred_valid', op: 'CombinePredictions', inputs: ['pred_valid_xgb', 'pred_valid_enet'], params: { weights: [w, 1 - w] } },
        { name: 'pred_test', op: 'CombinePredictions', inputs: ['pred_test_xgb', 'pred_test_enet'], params: { weights: [w, 1 - w] } }];
    },
  },
  P6: { description: 'average bathroom counts, LightGBM with bagging', make: (v) => { const p = prefix({ avg: true }); const m = middle(p.props, p.train, []); return [...p.stages, ...m.stages, lgbm(v, { lambda: pickV([0, 1, 5, 10, 0.5], v), max_depth: pickV([6, 8, -1, 10, 12], v), bagging_fraction: pickV([0.7, 0.8, 0.9, 0.85, 0.95], v) }), ...predictions('model')]; } },
  P7: { description: 'average bathroom counts, XGBoost with subsampling', make: (v) => { const p = prefix({ avg: true }); const m = middle(p.props, p.train, []); return [...p.stages, ...m.stages, xgb(v, { subsample: pickV([0.7, 0.8, 0.9, 0.85, 0.95], v) }), ...predictions('model')]; } },
  P8: { description: 'average, construction recency, one-hot, filled, ElasticNet', make: (v) => { const p = prefix({ avg: true, recency: true, ohe: true }); const m = middle(p.props, p.train, []); return [...p.stages, ...m.stages, enet(v, v % 2 === 1), ...predictions('model')]; } },
  P9: {
    description: 'P8 plus neighbourhood features', make: (v) => {
      const p = prefix({ avg: true, recency: true, ohe: true });
      const nb: Stage = { name: 'neighborhood', op: 'ComputeNeighborhood', inputs: [p.props], params: { cell_degrees: pickV([0.01, 0.02, 0.05, 0.1, 0.2], v) } };
      const m = middle(p.props, p.train, [{ stage: nb, name: 'nbhd' }]);
      return [...p.stages, ...m.stages, enet(v, v % 2 === 1), ...predictions('model')];
    },
  },
  P10: {
    description: 'P9 plus a residential flag', make: (v) => {
      const p = prefix({ avg: true, recency: true, ohe: true });
      const nb: Stage = { name: 'neighborhood', op: 'ComputeNeighborhood', inputs: [p.props], params: { cell_degrees: 0.02 } };
      const res: Stage = { name: 'residential', op: 'IsResidential', inputs: [p.props], params: { codes: pickV([[261, 266], [261, 266, 269], [261, 266, 269, 246, 247, 248], [261], [261, 263, 266]], v) } };
      const m = middle(p.props, p.train, [{ stage: nb, name: 'nbhd' }, { stage: res, name: 'res' }]);
      return [...p.stages, ...m.stages, enet(v, v % 2 === 1), ...predictions('model')];
    },
  },
};

export function makePipelines(dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const [t, { description, make }] of Object.entries(TEMPLATES)) {
    for (let v = 1; v <= 5; v++) {
      const doc = { name: `${t}_${v}`, project: 'zillow', description: `${t} variant ${v}: ${description}`, stages: make(v - 1) };
      const file = path.join(dir, `${t}_${v}.yaml`);
      fs.writeFileSync(file, stringify(doc, { lineWidth: 140 }));
      files.push(file);
    }
  }
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.resolve(here, '../../../datasets/zillow/pipelines');
  console.log(`wrote ${makePipelines(dir).length} pipeline specs to ${dir}`);
}
