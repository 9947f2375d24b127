// The tests Stryker runs against each mutant (npm run test:mutation): the unit suites of the pure and
// store modules it mutates — not the trust suites (kill -9, byte flips, a minute of concurrent readers),
// which take minutes and test processes, not lines.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/{quantize,scheme,chunk,minhash,codecs,costmodel,diagnostics,zonemap,rows,roundtrip,dedup,bufferpool,planner,layout,scan,metadata,key}.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
