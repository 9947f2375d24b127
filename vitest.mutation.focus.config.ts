// The tests Stryker runs for the focused mutation run (stryker.focus.config.json: the key grammar, the
// quantizers, the codecs, chunk hashing and MinHash): the unit suites that exercise those modules
// directly, not the planner and scan suites that reach them only through whole queries.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/{quantize,key,roundtrip,dedup,workers,layout}.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
