import path from 'node:path'; import fs from 'node:fs'; import os from 'node:os';
import { openStore, MistiqueError } from '/work/main/src/index.js';
import { frameFor, digestStored, expectedDigest } from '/work/main/test/workers/data.js';
import { mulberry32 } from '/work/main/datasets/random.js';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdflip-'));
const keys = ['c.m.k0', 'c.m.k1', 'c.m.k2', 'c.m.k3'];
const w = await openStore(dir, { codec: 'gzip', segmentBytes: 16 << 10 });
for (const [i, key] of keys.entries()) await w.log(key, frameFor(key, i));
await w.close();
const db = path.join(dir, 'metadata.db');
const orig = fs.readFileSync(db);
const r = mulberry32(Number(process.argv[2] ?? 5));
const tally: Record<string, number> = {};
for (let t = 0; t < 300; t++) {
  const tdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdflip-t-')); fs.cpSync(dir, tdir, { recursive: true });
  const b = Buffer.from(orig); const at = Math.floor(r() * b.length); b[at] ^= 1 + Math.floor(r() * 255); fs.writeFileSync(path.join(tdir, 'metadata.db'), b);
  let outcome = 'ok';
  try {
    const s = await openStore(tdir, { create: false });
    try {
      const vis = s.list().map((x) => x.key);
      if (vis.length !== keys.length) outcome = `list ${vis.length}`;
      for (const [i, key] of keys.entries()) {
        if (!vis.includes(key)) continue;
        try { if (await digestStored(s, key) !== expectedDigest(key, i)) { outcome = 'WRONG VALUES'; console.log('wrong at byte', at, 'page', Math.floor(at / 4096), key); } }
        catch (e) { if (outcome === 'ok') { outcome = e instanceof MistiqueError ? `read ${e.code}` : `read untyped`; if (!(e instanceof MistiqueError)) console.log((e as Error).stack?.split('\n').slice(0,6).join('\n')); } }
      }
    } finally { await s.close().catch(() => {}); }
  } catch (e) { outcome = e instanceof MistiqueError ? `open ${e.code}` : `open untyped`; if (e instanceof MistiqueError && e.code === "INTERNAL") { tally.shown = 1; console.log(e.message); } if (!(e instanceof MistiqueError)) console.log((e as Error).stack?.split('\n').slice(0,6).join('\n')); }
  tally[outcome] = (tally[outcome] ?? 0) + 1;
  fs.rmSync(tdir, { recursive: true, force: true });
}
console.log(orig.length, tally);
