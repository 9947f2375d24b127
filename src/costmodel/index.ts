// The cost model (paper §5.5): pure functions over recorded statistics.
export { addToFit, choose, gamma, solveFit, tRead, tRerunDnn, tRerunTrad, updateRho, type Choice, type ReadFit, type NetworkCost, type StageCost } from './model.js';
