// A writer process for the trust suites: logs intermediates `<prefix>.k<i>` (frames from data.ts) and
// prints `ack <key>` once each is durable, then `done`. Killed at random points by the crash suite.
//   node --import tsx test/workers/logger.ts <store> <codec> <prefix> <count> [lockTimeoutMs]
import { openStore, type CodecId } from '../../src/index.js';
import { frameFor } from './data.js';

const [dir, codec, prefix, count, lockTimeoutMs] = process.argv.slice(2);
const store = await openStore(dir!, { codec: codec as CodecId, lockTimeoutMs: Number(lockTimeoutMs ?? 0), bufferpoolBytes: 32 << 20, segmentBytes: 16 << 10 });
const batch: string[] = [];
for (let i = 0; i < Number(count); i++) {
  const key = `${prefix}.k${i}`;
  if (i % 3 === 2) {
    // every third: durable on return
    await store.log(key, frameFor(key, i), { durable: true });
    process.stdout.write(`ack ${key}\n`);
  } else {
    // the others wait in memory and become durable together at the next flush
    await store.log(key, frameFor(key, i));
    batch.push(key);
    if (batch.length === 2) {
      await store.flush();
      for (const k of batch.splice(0)) process.stdout.write(`ack ${k}\n`);
    }
  }
}
await store.close();
for (const k of batch) process.stdout.write(`ack ${k}\n`);
process.stdout.write('done\n');
