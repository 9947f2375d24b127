import path from 'node:path'; import fs from 'node:fs'; import os from 'node:os';
import Database from 'better-sqlite3';
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
// no flip at all: is k3 right?
{ const s = await openStore(dir, { create: false }); for (const [i, k] of keys.entries()) console.log('unflipped', k, await digestStored(s, k) === expectedDigest(k, i)); await s.close(); }
const r = mulberry32(5);
for (let t = 0; t < 300; t++) {
  const at = Math.floor(r() * orig.length); const x = 1 + Math.floor(r() * 255);
  const tdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdflip-t-')); fs.cpSync(dir, tdir, { recursive: true });
  const b = Buffer.from(orig); b[at] ^= x; fs.writeFileSync(path.join(tdir, 'metadata.db'), b);
  try {
    const s = await openStore(tdir, { create: false });
    const errs: string[] = [];
    for (const k of ['c.m.k0', 'c.m.k1', 'c.m.k2']) await digestStored(s, k).catch((e) => errs.push(`${k}: ${(e as Error).message.slice(0, 150)}`));
    const m = await s.getIntermediates('c.m.k3.*', { path: 'read' }).catch((e) => e);
    if (!(m instanceof Error) && await digestStored(s, 'c.m.k3') !== expectedDigest('c.m.k3', 3)) {
      const f = frameFor('c.m.k3', 3);
      console.log(errs); console.log('trial', t, 'at', at, 'x', x, 'rows', m.nrows, f.nrows, 'cols', m.ncols, f.ncols, 'firstIds', Array.from(m.rowIds.slice(0, 3)), Array.from(f.rowIds.slice(0, 3)), 'src', JSON.stringify(m.sources));
      const fr = frameFor('c.m.k3', 3);
      let shown = 0;
      for (let j = 0; j < fr.ncols && shown < 3; j++) { const c = fr.extract(0, fr.nrows, j, 1); for (let i = 0; i < fr.nrows && shown < 3; i++) if (c.values[i] !== m.get(i, j)) { console.log('diff at row', i, 'col', j, c.values[i], m.get(i, j)); shown++; } }
      const d0 = new Database(path.join(dir, 'metadata.db'), { readonly: true });
      const d1 = new Database(path.join(tdir, 'metadata.db'), { readonly: true });
      for (const t of ['blobs', 'chunks', 'rowblocks', 'segments', 'intermediates', 'columns']) {
        const a = d0.prepare(`SELECT * FROM ${t}`).all().map((x) => JSON.stringify(x)); const b2 = d1.prepare(`SELECT * FROM ${t}`).all().map((x) => JSON.stringify(x));
        const sa = new Set(a), sb = new Set(b2);
        console.log(t, a.length, b2.length, 'only before:', a.filter((x) => !sb.has(x)).slice(0, 2), 'only after:', b2.filter((x) => !sa.has(x)).slice(0, 2));
      }
      const d = new Database(path.join(tdir, 'metadata.db'), { readonly: true });
      console.log(d.prepare(`SELECT * FROM dbstat WHERE pageno = ?`).get(Math.floor(at / 4096) + 1));
      await s.close(); break;
    }
    await s.close();
  } catch (e) { /* */ }
  fs.rmSync(tdir, { recursive: true, force: true });
}
