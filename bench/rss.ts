// bench:rss — issue #16's memory target: logging a 1 GB float32 intermediate keeps the process's peak RSS
// within the bufferpool + 256 MB. Batches of 128 examples of bench:io's tensor shape are made on the fly
// (the caller holds one batch, as a training loop does), streamed through one writer, flushed; peak RSS
// from the OS (getrusage), the whole process (Node and its modules included); the RSS before logging beside it.
// Usage: npm run bench:rss [-- --gb 1 --budget-mb 256 --codec lz4 --scheme fp32|kbit8|lp]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../datasets/random.js';
import { DataFrame, openStore, type CodecId } from '../src/index.js';
import { toFloat16 } from '../src/quantize/index.js';
import { TENSOR_PER, TENSOR_SHAPE } from './tensor.js';
import { peakRss } from './proc.js';

const { values: args } = parseArgs({ options: { gb: { type: 'string', default: '1' }, 'budget-mb': { type: 'string', default: '256' }, codec: { type: 'string', default: 'lz4' }, scheme: { type: 'string', default: 'fp32' } } });
const MB = 1024 * 1024;
const budget = Number(args['budget-mb']) * MB;
const batch = 128;
const batches = Math.ceil((Number(args.gb) * 1024 * MB) / (batch * TENSOR_PER * 4));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-bench-rss-'));
const r = mulberry32(1);
const x = new Float32Array(batch * TENSOR_PER);
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
try {
  const s = await openStore(dir, { codec: args.codec as CodecId, policy: 'store_all', bufferpoolBytes: budget });
  const kbit = args.scheme === 'kbit8';
  const lp = args.scheme === 'lp';
  const w = s.writer('b.m.big', { scheme: args.scheme === 'fp32' ? undefined : args.scheme, logicalType: kbit || lp ? 'float32' : undefined, kbit: kbit ? 8 : undefined });
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < x.length; i++) x[i] = r() < 0.5 ? 0 : r() * 4; // ReLU-like, fresh each batch
    const ids = Int32Array.from({ length: batch }, (_, i) => b * batch + i);
    const frame = lp ? DataFrame.fromEncodedTensor(toFloat16(x), 'float16', TENSOR_SHAPE, ids) : DataFrame.fromTensor(x.slice(), TENSOR_SHAPE, ids);
    await w.append(frame);
  }
  await w.close();
  await s.flush();
  await s.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
const ms = performance.now() - t0;
const peak = peakRss();
const loggedMB = (batches * batch * TENSOR_PER * 4) / MB;
process.stdout.write(JSON.stringify({
  bench: 'rss', codec: args.codec, scheme: args.scheme, logged_mb: Math.round(loggedMB), budget_mb: budget / MB, seconds: +(ms / 1000).toFixed(1),
  rss_before_mb: Math.round(rssBefore / MB), peak_rss_mb: Math.round(peak / MB), growth_mb: Math.round((peak - rssBefore) / MB),
  targets: { peak_le_budget_plus_256mb: peak <= budget + 256 * MB },
}) + '\n');
