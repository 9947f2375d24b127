// bench:stream — issue #19's streaming target: capturing from Python (python/mistique's Stream, piping
// batches into `mistique log --stream`) against logging the same tensors from Node (encodeBatch and a
// writer, as logNetwork does), in the same run: the tensor of bench:io (2 000 × 16×28×28 float32, 95.7 MB,
// written once as .npy and memory-mapped by Python), batches of 128, per scheme; each run a fresh store
// in its own process(es), the runs of the two producers interleaved; median of 5 (min–max). Peak RSS of
// every process against the bufferpool + 256 MB. Prints one JSON line.
// Usage: npm run bench:stream [-- --runs 5 --schemes none,pool2+lp --examples 2000 --dir /tmp]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../src/index.js';
import { encodeBatch, parseScheme, schemeName } from '../src/quantize/scheme.js';
import { reluTensor, stat, TENSOR_PER, TENSOR_SHAPE } from './tensor.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' }, schemes: { type: 'string', default: 'none,pool2+lp' }, examples: { type: 'string', default: '2000' },
    dir: { type: 'string', default: os.tmpdir() }, child: { type: 'string' }, scheme: { type: 'string' }, npy: { type: 'string' }, store: { type: 'string' },
  },
});
const N = Number(args.examples);
const BATCH = 128;
const MB = 2 ** 20;
const BUFFERPOOL = 256 * MB;
const root = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(root, 'dist', 'src', 'cli', 'bin.js');

/** The Node producer, in a child of its own: the .npy's tensor logged batch by batch. */
async function nodeChild(): Promise<void> {
  const buf = fs.readFileSync(args.npy!);
  const hlen = buf.readUInt16LE(8);
  const v = new Float32Array(buf.buffer, buf.byteOffset + 10 + hlen, (buf.length - 10 - hlen) / 4);
  const scheme = parseScheme(args.scheme!);
  const t0 = performance.now();
  const s = await openStore(args.store!, { bufferpoolBytes: BUFFERPOOL });
  const q = scheme.quantize;
  const w = s.writer('b.m.t', { scheme: schemeName(scheme), approximate: false, logicalType: q ? 'float32' : undefined, kbit: q && typeof q === 'object' && 'kbit' in q ? q.kbit : undefined });
  const state = {};
  const n = v.length / TENSOR_PER;
  for (let i = 0; i < n; i += BATCH) {
    const e = Math.min(n, i + BATCH);
    const enc = await encodeBatch(v.slice(i * TENSOR_PER, e * TENSOR_PER), TENSOR_SHAPE, Int32Array.from({ length: e - i }, (_, k) => i + k), scheme, state);
    await w.append(enc.frame);
  }
  await w.close();
  await s.close();
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0, rss: peakRss() }));
}

const PY = `
import json, resource, sys, time
import numpy as np
sys.path.insert(0, ${JSON.stringify(path.join(root, 'python'))})
import mistique
npy, store, scheme = sys.argv[1:4]
x = np.load(npy, mmap_mode='r')
t0 = time.perf_counter()
with mistique.Stream(store, scheme=scheme, cli=[${JSON.stringify(process.execPath)}, ${JSON.stringify(bin)}]) as s:
    for i in range(0, x.shape[0], ${BATCH}):
        s.log('b.m.t', x[i:i + ${BATCH}])
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({'ms': ms, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, 'cli_rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
`;
import { peakRss } from './proc.js';

function run(cmd: string, argv: string[]): { ms: number; rss: number; cli_rss?: number } {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.slice(0, 2).join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; rss: number; cli_rss?: number };
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(args.dir!, 'mistique-stream-'));
  try {
    const npy = path.join(work, 't.npy');
    const v = reluTensor(N);
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${N}, ${TENSOR_SHAPE.join(', ')}), }`;
    const padded = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1) + '\n';
    const pre = Buffer.alloc(10);
    pre.write('\x93NUMPY', 0, 'latin1'); pre[6] = 1; pre[7] = 0; pre.writeUInt16LE(padded.length, 8);
    fs.writeFileSync(npy, Buffer.concat([pre, Buffer.from(padded, 'latin1'), Buffer.from(v.buffer, v.byteOffset, v.byteLength)]));
    const inMB = v.byteLength / MB;
    const schemes = args.schemes!.split(',');
    const res: Record<string, { node: number[]; python: number[]; nodeRss: number[]; pyRss: number[]; cliRss: number[] }> = {};
    for (let rep = 0; rep < Number(args.runs); rep++) {
      for (const sc of schemes) {
        const r = (res[sc] ??= { node: [], python: [], nodeRss: [], pyRss: [], cliRss: [] });
        const dirs = [path.join(work, `n-${rep}`), path.join(work, `p-${rep}`)];
        const order = rep % 2 === 0 ? ['node', 'python'] : ['python', 'node'];
        for (const who of order) {
          if (who === 'node') {
            const o = run(process.execPath, [path.join(root, 'dist', 'bench', 'stream.js'), '--child', 'node', '--scheme', sc, '--npy', npy, '--store', dirs[0]!]);
            r.node.push(inMB / (o.ms / 1000)); r.nodeRss.push(o.rss / MB);
          } else {
            const o = run('/usr/bin/python3', ['-c', PY, npy, dirs[1]!, sc]);
            r.python.push(inMB / (o.ms / 1000)); r.pyRss.push(o.rss / MB); r.cliRss.push(o.cli_rss! / MB);
          }
        }
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
        process.stderr.write(`rep ${rep + 1}: ${sc} node ${r.node.at(-1)!.toFixed(1)} MB/s, python ${r.python.at(-1)!.toFixed(1)} MB/s\n`);
      }
    }
    const out = Object.fromEntries(Object.entries(res).map(([sc, r]) => {
      const node = stat(r.node), python = stat(r.python);
      const rssMax = Math.max(...r.nodeRss, ...r.cliRss, ...r.pyRss);
      return [sc, {
        node_MBs: node, python_MBs: python, python_vs_node: +(python.median / node.median).toFixed(3),
        rss_MB: { node: stat(r.nodeRss, 0).max, python: stat(r.pyRss, 0).max, cli: stat(r.cliRss, 0).max },
        targets: { python_ge_half_node: python.median / node.median >= 0.5, rss_le_bufferpool_plus_256MB: rssMax <= (BUFFERPOOL + 256 * MB) / MB },
      }];
    }));
    console.log(JSON.stringify({ bench: 'stream', examples: N, mb: +inMB.toFixed(1), runs: Number(args.runs), batch: BATCH, bufferpool_MB: BUFFERPOOL / MB, schemes: out }));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (args.child === 'node') await nodeChild();
else await main();
