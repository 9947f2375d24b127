// Training and prediction operators. A Train* stage takes one table and a label column; its features are
// every other numeric column. The trained operator is a stage output of kind `model`: it is serialized
// into the MetadataDB at log time, so re-running a later stage never retrains.
import { MistiqueError } from '../../errors.js';
import { featureColumns, isNumeric, makeTable, numeric, type StageTable } from '../table.js';
import { predictElasticNet, trainElasticNet, type ENetModel } from './elasticnet.js';
import { predictGBT, trainGBT, type GBTModel } from './gbt.js';
import { modelOf, table, tableOf, type OperatorDef, type Params, type TrainedModel } from './operator.js';
import { predictXGBoost, trainXGBoost } from './xgboost.js';

const enc = new TextEncoder(), dec = new TextDecoder();

function featuresOf(t: StageTable, label: string, stage: string): string[] {
  numeric(t, label, stage);
  const f = t.names.filter((n, j) => n !== label && isNumeric(t.columns[j]!));
  if (f.length === 0) throw new MistiqueError('BAD_SPEC', `stage ${stage}: no numeric feature columns besides ${label}`);
  return f;
}

interface Stored { op: string; features: string[]; label: string; params: Params; model: unknown }

function jsonModel(s: Stored, predict: (X: Float64Array[], n: number) => Float64Array): TrainedModel {
  return {
    op: s.op, features: s.features,
    predict: (X, stage) => predict(featureColumns(X, s.features, stage), X.nrows),
    serialize: () => enc.encode(JSON.stringify(s)),
  };
}

const labelParam = { type: 'string', default: 'logerror', doc: 'the label column' } as const;
const rounds = { type: 'integer', default: 100, min: 1, max: 10000, doc: 'boosting rounds' } as const;

export const TrainLightGBM: OperatorDef = {
  name: 'TrainLightGBM', doc: 'LightGBM-style histogram GBT, leaf-wise growth (our own: the npm lightgbm addon cannot train)',
  inputs: ['table'], output: 'model',
  params: {
    label: labelParam, num_rounds: rounds,
    learning_rate: { type: 'number', default: 0.05, min: 1e-6, max: 1, doc: 'shrinkage' },
    num_leaves: { type: 'integer', default: 31, min: 2, max: 4096, doc: 'leaves per tree' },
    max_depth: { type: 'integer', default: -1, min: -1, max: 64, doc: 'depth limit, −1 = none' },
    min_data: { type: 'integer', default: 20, min: 1, doc: 'min_data_in_leaf' },
    sub_feature: { type: 'number', default: 1, min: 0.01, max: 1, doc: 'feature_fraction per tree' },
    bagging_fraction: { type: 'number', default: 1, min: 0.01, max: 1, doc: 'row fraction per tree' },
    lambda: { type: 'number', default: 0, min: 0, doc: 'L2 regularisation of leaf values' },
    max_bin: { type: 'integer', default: 63, min: 2, max: 255, doc: 'histogram bins per feature' },
    seed: { type: 'integer', default: 1, doc: 'bagging / feature sampling seed' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const features = featuresOf(t, p.label as string, ctx.stage);
    const model = trainGBT(featureColumns(t, features), numeric(t, p.label as string), {
      learning_rate: p.learning_rate as number, num_leaves: p.num_leaves as number, max_depth: p.max_depth as number,
      min_data: p.min_data as number, sub_feature: p.sub_feature as number, bagging_fraction: p.bagging_fraction as number,
      lambda: p.lambda as number, num_rounds: p.num_rounds as number, max_bin: p.max_bin as number, seed: p.seed as number,
    });
    return { kind: 'model', model: this.load!(enc.encode(JSON.stringify({ op: 'TrainLightGBM', features, label: p.label, params: p, model }))) as TrainedModel };
  },
  load(bytes) {
    const s = JSON.parse(dec.decode(bytes)) as Stored;
    return jsonModel(s, (X, n) => predictGBT(s.model as GBTModel, X, n));
  },
};

export const TrainElasticNet: OperatorDef = {
  name: 'TrainElasticNet', doc: 'elastic-net linear regression by coordinate descent', inputs: ['table'], output: 'model',
  params: {
    label: labelParam,
    alpha: { type: 'number', default: 0.001, min: 0, doc: 'overall regularisation strength' },
    l1_ratio: { type: 'number', default: 0.5, min: 0, max: 1, doc: 'share of L1 in the penalty' },
    tol: { type: 'number', default: 1e-4, min: 0, doc: 'stop when the largest coefficient change is below tol × the largest coefficient' },
    max_iter: { type: 'integer', default: 1000, min: 1, doc: 'coordinate-descent sweeps at most' },
    normalize: { type: 'boolean', default: true, doc: 'standardize features before fitting' },
  },
  run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const features = featuresOf(t, p.label as string, ctx.stage);
    const model = trainElasticNet(featureColumns(t, features), numeric(t, p.label as string), {
      alpha: p.alpha as number, l1_ratio: p.l1_ratio as number, tol: p.tol as number, max_iter: p.max_iter as number, normalize: p.normalize as boolean,
    });
    return { kind: 'model', model: this.load!(enc.encode(JSON.stringify({ op: 'TrainElasticNet', features, label: p.label, params: p, model }))) as TrainedModel };
  },
  load(bytes) {
    const s = JSON.parse(dec.decode(bytes)) as Stored;
    return jsonModel(s, (X, n) => predictElasticNet(s.model as ENetModel, X, n));
  },
};

/** XGBoost's predictions come from the wasm module: Predict awaits them through this side table. */
const xgbBytes = new WeakMap<TrainedModel, Uint8Array>();

export const TrainXGBoost: OperatorDef = {
  name: 'TrainXGBoost', doc: 'XGBoost (ml-xgboost, WebAssembly); missing values are fed as −999', inputs: ['table'], output: 'model',
  params: {
    label: labelParam, num_rounds: rounds,
    eta: { type: 'number', default: 0.05, min: 1e-6, max: 1, doc: 'learning rate' },
    lambda: { type: 'number', default: 1, min: 0, doc: 'L2 regularisation' },
    alpha: { type: 'number', default: 0, min: 0, doc: 'L1 regularisation' },
    max_depth: { type: 'integer', default: 6, min: 1, max: 32, doc: 'tree depth' },
    subsample: { type: 'number', default: 1, min: 0.01, max: 1, doc: 'row fraction per tree (bagging_fraction)' },
    min_child_weight: { type: 'number', default: 1, min: 0, doc: 'minimum hessian in a leaf' },
  },
  async run(inputs, p, ctx) {
    const t = tableOf(inputs[0], ctx.stage, 0);
    const features = featuresOf(t, p.label as string, ctx.stage);
    const booster = await trainXGBoost(featureColumns(t, features), numeric(t, p.label as string), {
      eta: p.eta as number, lambda: p.lambda as number, alpha: p.alpha as number, max_depth: p.max_depth as number,
      subsample: p.subsample as number, min_child_weight: p.min_child_weight as number, num_rounds: p.num_rounds as number,
    });
    return { kind: 'model', model: this.load!(packXGB(features, p, booster)) as TrainedModel };
  },
  load(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const jsonLen = view.getUint32(0, true);
    const s = JSON.parse(dec.decode(bytes.subarray(4, 4 + jsonLen))) as Stored;
    const booster = bytes.slice(4 + jsonLen);
    const m: TrainedModel = {
      op: 'TrainXGBoost', features: s.features,
      predict: () => { throw new MistiqueError('INTERNAL', 'XGBoost predicts asynchronously: use predictAsync'); },
      serialize: () => bytes,
    };
    xgbBytes.set(m, booster);
    return m;
  },
};

function packXGB(features: string[], p: Params, booster: Uint8Array): Uint8Array {
  const head = enc.encode(JSON.stringify({ op: 'TrainXGBoost', features, label: p.label, params: p, model: null }));
  const out = new Uint8Array(4 + head.length + booster.length);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  out.set(booster, 4 + head.length);
  return out;
}

export async function predictAsync(m: TrainedModel, X: StageTable, stage: string): Promise<Float64Array> {
  const booster = xgbBytes.get(m);
  if (booster) return predictXGBoost(booster, featureColumns(X, m.features, stage), X.nrows);
  return m.predict(X, stage);
}

export const Predict: OperatorDef = {
  name: 'Predict', doc: 'applies a trained model (input 1) to a table (input 2); outputs column pred, row ids of the table',
  inputs: ['model', 'table'], output: 'table', params: {},
  async run(inputs, _p, ctx) {
    const m = modelOf(inputs[0], ctx.stage, 0), t = tableOf(inputs[1], ctx.stage, 1);
    return table(makeTable(t.rowIds, ['pred'], [await predictAsync(m, t, ctx.stage)]));
  },
};

export const CombinePredictions: OperatorDef = {
  name: 'CombinePredictions', doc: 'weighted sum of the pred columns of its inputs (same rows)', inputs: ['table', 'table'], rest: true, output: 'table',
  params: { weights: { type: 'number[]', required: true, doc: 'one weight per input' } },
  run(inputs, p, ctx) {
    const w = p.weights as number[];
    if (w.length !== inputs.length) throw new MistiqueError('BAD_SPEC', `stage ${ctx.stage}: ${inputs.length} inputs but ${w.length} weights`);
    const ts = inputs.map((v, i) => tableOf(v, ctx.stage, i));
    const first = ts[0]!;
    for (const t of ts) {
      if (t.nrows !== first.nrows || t.rowIds.some((id, i) => id !== first.rowIds[i])) {
        throw new MistiqueError('BAD_SPEC', `stage ${ctx.stage}: its inputs must hold the same rows in the same order`);
      }
    }
    const out = new Float64Array(first.nrows);
    ts.forEach((t, k) => { const c = numeric(t, 'pred', ctx.stage); for (let i = 0; i < out.length; i++) out[i]! += w[k]! * c[i]!; });
    return table(makeTable(first.rowIds, ['pred'], [out]));
  },
};
