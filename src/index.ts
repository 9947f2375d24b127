/**
 * mistique — Model Intermediate STore and QUery Engine.
 *
 * @example
 * import { openStore } from 'mistique';
 * const store = await openStore('./store');
 * await store.log('zillow.P1.pred', { logerror: new Float64Array([0.1, -0.02]) });
 * const m = await store.getIntermediates(['zillow.P1.pred.*'], { rows: [1] });
 * await store.close();
 */
export { openStore, Store } from './mistique.js';
export * as costmodel from './costmodel/index.js';
export type { StoreOptions, StorePolicy, LogOptions, StoreStats, IntermediateSummary } from './mistique.js';
export type { Estimate, PlannedQueryOptions, QueryPath } from './reader/planner.js';
export type { DnnInput, DnnInputs, DnnLogOptions, DnnRun } from './executor/onnx/dnn.js';
export type { NamedInput } from './executor/onnx/inputs.js';
export { MistiqueError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { DataFrame } from './model/dataframe.js';
export type { FrameInput, FrameOptions, PlainFrame, Column, ChunkData } from './model/dataframe.js';
export { Matrix, unshared } from './model/matrix.js';
export type { MatrixColumn, MatrixSource, MatrixValues } from './model/matrix.js';
export type { ColumnType } from './model/types.js';
export type { QueryOptions } from './reader/chunkreader.js';
export type { RowSelection } from './reader/rowspec.js';
export type { IntermediateWriter, IntermediateInfo } from './store/writer.js';
export type { CodecId } from './store/codecs/index.js';
export type { StoragePolicy } from './store/datastore.js';
export type { VerifyReport } from './store/verify.js';
export * as diagnostics from './diagnostics/index.js';
export type { ExportOptions, ExportedFile } from './export/export.js';
export type { ExportFormat } from './export/writers.js';
