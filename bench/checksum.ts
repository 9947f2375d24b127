// bench:checksum — what segment checksums cost: a 100 MB float32 ReLU-like tensor (2 000 examples ×
// 16×28×28, as issue #16 measures) logged and read back whole under each codec, with checksums on and
// off (MISTIQUE_CHECKSUMS=off), each run a fresh process, on and off interleaved, 5 runs each.
// Prints one JSON line: per codec, log and read MB/s (median, min, max) on and off, and on ÷ off.
// Usage: npm run bench:checksum [-- --runs 5 --examples 2000]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DataFrame, openStore, type CodecId } from '../src/index.js';
import { reluTensor, stat, TENSOR_PER as PER, TENSOR_SHAPE as SHAPE } from './tensor.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, examples: { type: 'string', default: '2000' }, child: { type: 'string' } } });
const N = Number(args.examples);
const MB = 1024 * 1024;


/** One run in this process: log (flushed, fsynced) then a cold full read; prints {logMBs, readMBs}. */
async function child(codec: CodecId): Promise<void> {
  const v = reluTensor(N);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-ck-'));
  try {
    const s = await openStore(path.join(dir, 's'), { codec, policy: 'store_all' });
    const t0 = performance.now();
    const w = s.writer('b.m.t');
    for (let i = 0; i < N; i += 200) {
      const e = Math.min(N, i + 200);
      await w.append(DataFrame.fromTensor(v.subarray(i * PER, e * PER), SHAPE, Int32Array.from({ length: e - i }, (_, k) => i + k)));
    }
    await w.close();
    await s.flush();
    const logMs = performance.now() - t0;
    await s.close();
    const r = await openStore(path.join(dir, 's'));
    const t1 = performance.now();
    const m = await r.getIntermediates('b.m.t.*', { path: 'read' });
    const readMs = performance.now() - t1;
    if (m.nrows !== N) throw new Error(`read ${m.nrows} rows`);
    await r.close();
    process.stdout.write(JSON.stringify({ logMBs: v.byteLength / MB / (logMs / 1000), readMBs: v.byteLength / MB / (readMs / 1000) }) + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}


if (args.child) {
  await child(args.child as CodecId);
} else {
  const runs = Number(args.runs);
  const out: Record<string, unknown> = { examples: N, mb: +(N * PER * 4 / MB).toFixed(1), runs };
  for (const codec of ['gzip', 'arrow', 'parquet'] as CodecId[]) {
    const res: Record<'on' | 'off', { logMBs: number; readMBs: number }[]> = { on: [], off: [] };
    for (let k = 0; k < runs; k++) {
      for (const mode of (k % 2 === 0 ? ['on', 'off'] : ['off', 'on']) as ('on' | 'off')[]) {
        const line = execFileSync(process.execPath, [process.argv[1]!, '--child', codec, '--examples', String(N)], {
          env: { ...process.env, MISTIQUE_CHECKSUMS: mode }, encoding: 'utf8',
        });
        res[mode].push(JSON.parse(line.trim().split('\n').pop()!) as { logMBs: number; readMBs: number });
      }
    }
    const on = { log: stat(res.on.map((x) => x.logMBs)), read: stat(res.on.map((x) => x.readMBs)) };
    const off = { log: stat(res.off.map((x) => x.logMBs)), read: stat(res.off.map((x) => x.readMBs)) };
    out[codec] = { on, off, log_on_over_off: +(on.log.median / off.log.median).toFixed(3), read_on_over_off: +(on.read.median / off.read.median).toFixed(3) };
    process.stderr.write(`${codec}: ${JSON.stringify(out[codec])}\n`);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
