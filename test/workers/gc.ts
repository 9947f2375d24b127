// A gc process for the crash suite: deletes the odd-numbered intermediates `<prefix>.k<i>`, prints
// `deleted`, then collects garbage (every partition with anything unreferenced is rewritten) and prints
// `done`. Killed at random points in between by test/lifecycle.test.ts.
//   node --import tsx test/workers/gc.ts <store> <prefix> <count>
import { openStore } from '../../src/index.js';

const [dir, prefix, count] = process.argv.slice(2);
const store = await openStore(dir!, { create: false });
for (let i = 1; i < Number(count); i += 2) store.delete(`${prefix}.k${i}`);
process.stdout.write('deleted\n');
await store.gc({ minDeadFraction: 0 });
process.stdout.write('done\n');
await store.close();
