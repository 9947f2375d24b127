// The tests Stryker runs for the focused mutation run (stryker.focus.config.json: the key grammar, the
// quantizers, the codecs, chunk hashing and MinHash): the unit suites that exercise those modules
// directly, not the planner and scan suites that reach them only through whole queries.
// MUTATION_TESTS (globs separated by spaces) narrows it for one module, e.g.
//   MUTATION_TESTS=test/minhash.test.ts npx stryker run stryker.focus.config.json --mutate src/store/minhash.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: process.env.MUTATION_TESTS?.split(' ') ?? ['test/{quantize,scheme,key,chunk,minhash,codecs,roundtrip,dedup,workers,layout}.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
