// The operator registry: a pipeline spec's `op` names one of these.
import type { OperatorDef } from './operator.js';
import { Avg, ComputeNeighborhood, DropColumns, FillNA, GetConstructionRecency, IsResidential, Join, OneHotEncoding, ReadCSV, SelectColumn, TrainTestSplit } from './transform.js';
import { CombinePredictions, Predict, TrainElasticNet, TrainLightGBM, TrainXGBoost } from './train.js';

export const OPERATORS: ReadonlyMap<string, OperatorDef> = new Map([
  ReadCSV, Join, SelectColumn, DropColumns, OneHotEncoding, FillNA, Avg, GetConstructionRecency, ComputeNeighborhood,
  IsResidential, TrainTestSplit, TrainXGBoost, TrainLightGBM, TrainElasticNet, Predict, CombinePredictions,
].map((op) => [op.name, op]));

export type { OperatorDef, StageValue, TrainedModel, RunContext } from './operator.js';
