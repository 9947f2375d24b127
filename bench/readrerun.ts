// bench:readrerun — issue #16's read-or-re-run target on the networks it names: a cold read of every
// stored layer of `cnn` and `vgg` at N (2 000) examples against re-running it, for fp32 and each scheme
// (LP_QT, KBIT_QT(8), POOL_QT(2)). One store per network and scheme, logged first; then R rounds, each
// taking every layer in turn: its re-run (from the fp32 store: a re-run computes the same floats whatever
// the scheme), then its cold read under each scheme (decoded segments and the OS page cache dropped
// before each). Medians of the R rounds with min and max beside; the target is judged on the medians.
// Usage: npm run bench:readrerun [-- --examples 2000 --rounds 5 --nets cnn,vgg --models datasets/models --dir /tmp]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { progress } from '../src/cli/progress.js';
import { openStore, type Store } from '../src/index.js';
import { packageRoot } from '../src/paths.js';
import { parseScheme } from '../src/quantize/scheme.js';
import { lastCheckpoint, testImages } from './fmnist.js';
import { dropOsCache, saveResult, summary, syncAll } from './proc.js';
import { lineChart } from './svg.js';

const { values: args } = parseArgs({
  options: {
    examples: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' },
    nets: { type: 'string', default: 'cnn,vgg' }, models: { type: 'string' }, dir: { type: 'string', default: os.tmpdir() },
  },
});
const N = Number(args.examples), ROUNDS = Number(args.rounds);
const NETS = args.nets!.split(',');
const MODELS = path.resolve(args.models ?? path.join(packageRoot(), 'datasets', 'models'));
const SCHEMES = ['none', 'lp', 'kbit8', 'pool2'];
const work = fs.mkdtempSync(path.join(args.dir!, 'mistique-bench-readrerun-'));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface Net { name: string; layers: string[]; stores: Map<string, Store>; mb: Map<string, Map<string, number>> }

async function logNet(name: string, x: Float32Array, bar: { tick(): void }): Promise<Net> {
  const ckpt = lastCheckpoint(MODELS, name);
  const stores = new Map<string, Store>(), mb = new Map<string, Map<string, number>>();
  let layers: string[] = [];
  for (const scheme of SCHEMES) {
    const s = await openStore(path.join(work, `${name}-${scheme}`), { policy: 'store_all' });
    const run = await s.logNetwork(`fm.${name}`, ckpt, { x, shape: [1, 28, 28] }, { scheme: parseScheme(scheme), profile: false });
    await s.flush();
    if (scheme === 'none') layers = run.layers.map((l) => l.name);
    stores.set(scheme, s);
    mb.set(scheme, new Map(s.list(`fm.${name}.*`).map((i) => [i.key.split('.').pop()!, i.bytesStored / 2 ** 20])));
    bar.tick();
  }
  return { name, layers, stores, mb };
}

const x = testImages(N);
const bar = progress('bench:readrerun', NETS.length * SCHEMES.length + ROUNDS * NETS.length);
const nets: Net[] = [];
for (const name of NETS) nets.push(await logNet(name, x, bar));
syncAll();
const cold = dropOsCache();
const rows = Array.from({ length: N }, (_, i) => i);
// per net, layer: re-run ms and read ms by scheme, one entry per round
const rerunMs = new Map<string, number[]>(), readMs = new Map<string, number[]>();
const push = (m: Map<string, number[]>, k: string, v: number): void => { (m.get(k) ?? m.set(k, []).get(k)!).push(v); };
for (let r = 0; r < ROUNDS; r++) {
  for (const net of nets) {
    for (const layer of net.layers) {
      push(rerunMs, `${net.name}.${layer}`, await timed(() => net.stores.get('none')!.rerunLayer(`fm.${net.name}`, layer, { rows })));
      for (const scheme of SCHEMES) {
        const s = net.stores.get(scheme)!;
        s.dropCaches();
        dropOsCache();
        push(readMs, `${net.name}.${layer}.${scheme}`, await timed(() => s.getIntermediates(`fm.${net.name}.${layer}.*`, { path: 'read' })));
      }
    }
    bar.tick();
  }
}
bar.stop();

const results: Record<string, Record<string, unknown>> = {};
const losing: string[] = [];
let points = 0;
for (const net of nets) {
  const perLayer: Record<string, unknown> = {};
  for (const layer of net.layers) {
    const rerun = summary(rerunMs.get(`${net.name}.${layer}`)!);
    const read: Record<string, unknown> = {};
    for (const scheme of SCHEMES) {
      const rd = summary(readMs.get(`${net.name}.${layer}.${scheme}`)!);
      const mb = +(net.mb.get(scheme)!.get(layer) ?? 0).toFixed(2);
      read[scheme] = { ms: rd, mb_stored: mb, read_over_rerun: +(rd.median / rerun.median).toFixed(2) };
      points++;
      if (rd.median >= rerun.median) losing.push(`${net.name}.${layer} ${scheme}: read ${rd.median} ms, re-run ${rerun.median} ms`);
    }
    perLayer[layer] = { rerun_ms: rerun, read };
  }
  results[net.name] = perLayer;
}
for (const s of nets.flatMap((n) => [...n.stores.values()])) await s.close();
fs.rmSync(work, { recursive: true, force: true });

// a table per net on stderr: median read ÷ median re-run by layer and scheme
for (const net of nets) {
  process.stderr.write(`\n${net.name}: read ÷ re-run (median ms), ${N} examples, ${ROUNDS} rounds${cold ? ', cold' : ', OS cache not dropped'}\n`);
  process.stderr.write(`layer`.padEnd(12) + `re-run`.padStart(10) + SCHEMES.map((s) => s.padStart(16)).join('') + '\n');
  for (const layer of net.layers) {
    const l = results[net.name]![layer] as { rerun_ms: { median: number }; read: Record<string, { ms: { median: number }; read_over_rerun: number }> };
    process.stderr.write(layer.padEnd(12) + String(l.rerun_ms.median).padStart(10) + SCHEMES.map((s) => `${l.read[s]!.ms.median} (${l.read[s]!.read_over_rerun})`.padStart(16)).join('') + '\n');
  }
}
// a chart per net: median ms by layer, the re-run and each scheme's cold read (bench/results/readrerun-<net>.svg)
const COLORS = ['#222222', '#4477aa', '#ee6677', '#228833', '#ccbb44'];
for (const net of nets) {
  const at = (layer: string) => results[net.name]![layer] as { rerun_ms: { median: number }; read: Record<string, { ms: { median: number } }> };
  const series = [{ name: 're-run', color: COLORS[0]!, values: net.layers.map((l) => at(l).rerun_ms.median) },
    ...SCHEMES.map((s, k) => ({ name: `read ${s}`, color: COLORS[k + 1]!, values: net.layers.map((l) => at(l).read[s]!.ms.median) }))];
  fs.writeFileSync(path.join(packageRoot(), 'bench', 'results', `readrerun-${net.name}.svg`), lineChart({
    title: `${net.name}: cold read vs re-run of ${N} examples per layer (median of ${ROUNDS}, ms)`, xLabel: 'layer', yLabel: 'ms', logY: true, x: net.layers, series,
  }));
}
saveResult('readrerun', {
  bench: 'readrerun', examples: N, rounds: ROUNDS, cold, schemes: SCHEMES, results, losing,
  targets: { read_faster_than_rerun_every_layer_and_scheme: losing.length === 0, points, points_read_faster: points - losing.length },
});
