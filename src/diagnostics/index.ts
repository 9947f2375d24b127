// Diagnostics on query results (paper §5.1.1, Table 5.1): the query catalogue, KNN, SVCCA, VIS, NETDISSECT.
export { pointq, topk, colDiff, groupedCompare, colDist, rowDiff, lookup } from './queries.js';
export type { TopK, ColDiff, GroupStat, ColDist, RowDiff } from './queries.js';
export { knn, knnMany, overlap } from './knn.js';
export type { KnnOptions, KnnResult, Metric } from './knn.js';
export { svcca, svccaDense } from './svcca.js';
export type { SvccaOptions, SvccaResult, SubspaceInfo } from './svcca.js';
export { heatmap, heatmapPng, predictedClass } from './heatmap.js';
export type { Heatmap } from './heatmap.js';
export { dissectionPng, netdissect, upsampler } from './netdissect.js';
export type { ConceptSet, Dissection, UnitResult } from './netdissect.js';
export { encodePng } from './png.js';
