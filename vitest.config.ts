import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // onnxruntime's telemetry off in test files that load onnxruntime-node directly too (src/executor/onnx/ort.ts)
    env: { ORT_DISABLE_TELEMETRY: '1' },
  },
});
