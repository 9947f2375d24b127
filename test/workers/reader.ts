// A reader process for the load suite: for `seconds`, opens the store, reads whatever is visible and
// checks it value for value against what its key logs (data.ts). Prints `reads N`; exits 1 on a wrong
// value, 2 on any error.
//   node --import tsx test/workers/reader.ts <store> <seconds> <seed>
import { mulberry32 } from '../../datasets/random.js';
import { openStore } from '../../src/index.js';
import { digestStored, expectedDigest } from './data.js';

const [dir, seconds, seed] = process.argv.slice(2);
const r = mulberry32(Number(seed));
const end = Date.now() + Number(seconds) * 1000;
let reads = 0;
try {
  while (Date.now() < end) {
    const s = await openStore(dir!, { create: false });
    try {
      const items = s.list();
      for (let k = 0; k < 3 && items.length > 0; k++) {
        const key = items[Math.floor(r() * items.length)]!.key;
        const want = expectedDigest(key, Number(/\.k(\d+)$/.exec(key)![1]));
        if ((await digestStored(s, key)) !== want) {
          process.stdout.write(`wrong ${key}\n`);
          process.exit(1);
        }
        reads++;
      }
    } finally {
      await s.close();
    }
  }
} catch (err) {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(2);
}
process.stdout.write(`reads ${reads}\n`);
