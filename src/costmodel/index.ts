// The cost model (paper §5.5): pure functions over recorded statistics.
export { choose, gamma, tRead, tRerunDnn, tRerunTrad, updateRho, type Choice, type NetworkCost, type StageCost } from './model.js';
