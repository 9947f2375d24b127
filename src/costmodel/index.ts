export { addRead, addRerun, choose, gamma, READ_TERMS, readVector, refreshStageMs, SLOWER_RUN_WEIGHT, solveRead, solveRerun, tRead, tRerunDnn, tRerunTrad, type Choice, type NetworkCost, type ReadFeatures, type StageCost } from './model.js';
export { addSample, addSums, emptySums, isFiniteList, isSums, solveLinear, solveNonNegative, type LinearSums } from './fit.js';
export { ACCURACY_WINDOW, addRatio, closeCall, ratioBand, type Band } from './accuracy.js';
