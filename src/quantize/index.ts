// Storage schemes of paper §5.4.1, as pure functions on typed arrays (the DNN logging path composes
// them: pool(2) then float16 is the paper's default).
export { float32ToHalfBits, fromFloat16, halfBitsToFloat32, toFloat16, toFloat32 } from './lowprecision.js';
export { kbitBlock, kbitBlockDecode, type KbitBlock } from './kbit.js';
export { percentile, sampleValues, thresholdDecode, thresholdEncode } from './threshold.js';
export { pool, type PoolKind } from './pool.js';
