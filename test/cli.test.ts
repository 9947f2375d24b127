import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it, vi } from 'vitest';
import { negativeValues, run } from '../src/cli/main.js';
import { demoHints, hintCommand } from '../src/cli/demo.js';
import { DataFrame, openStore } from '../src/index.js';
import { batches, loadSubset } from '../datasets/fashion-mnist/load.js';
import { progress } from '../src/cli/progress.js';
import { tempDir } from './helpers.js';
import { npyHeader } from '../src/export/writers.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('progress off a terminal', () => {
  it('writes a plain line at most every 10 s, and none for work that ends sooner', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => { lines.push(s); return true; } } as unknown as NodeJS.WriteStream;
    let t = 0;
    const quick = progress('quick', 10, stream, () => t);
    for (let i = 0; i < 10; i++) { t += 100; quick.tick(); }
    quick.stop();
    expect(lines).toEqual([]);
    const slow = progress('fm.cnn_e03', 100, stream, () => t);
    for (let i = 0; i < 100; i++) { t += 1_000; slow.tick(); }
    slow.stop();
    expect(lines).toHaveLength(11); // every 10 s of 100 s, and the end
    expect(lines[0]).toBe('fm.cnn_e03: 10/100 (10%) after 10 s\n');
    expect(lines.at(-1)).toBe('fm.cnn_e03: 100/100 (100%) after 100 s\n');
  });
});

describe('a command past 2 s says it is working', () => {
  it('off a terminal: nothing before 2 s, then a plain line, then one every 10 s; on a terminal the line is cleared at the end', async () => {
    const { working } = await import('../src/cli/progress.js');
    vi.useFakeTimers();
    try {
      for (const isTTY of [false, true]) {
        const lines: string[] = [];
        const stream = { isTTY, write: (x: string) => { lines.push(x); return true; } } as unknown as NodeJS.WriteStream;
        const quick = working('mistique get', stream, 2000, () => Date.now());
        vi.advanceTimersByTime(1500);
        quick();
        expect(lines).toEqual([]);
        const slow = working('mistique diagnose', stream, 2000, () => Date.now());
        vi.advanceTimersByTime(25_000);
        slow();
        if (!isTTY) expect(lines).toEqual(['mistique diagnose: working… 2 s\n', 'mistique diagnose: working… 12 s\n', 'mistique diagnose: working… 22 s\n']);
        else {
          expect(lines[0]).toBe('\rmistique diagnose: working… 2 s\u001b[K');
          expect(lines.at(-1)).toBe('\r\u001b[K');
        }
      }
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('tables fit the terminal', () => {
  it('shows the columns a width holds and counts the rest', async () => {
    const { formatMatrix } = await import('../src/cli/format.js');
    const { Matrix } = await import('../src/index.js');
    const cols = Array.from({ length: 12 }, (_, j) => ({ key: `p.m.i.column_${j}`, name: `column_${j}`, type: 'float64' as const }));
    const m = new Matrix(Int32Array.from([1, 2, 3, 4, 5]), cols, new Float64Array(60).fill(1.5), null);
    const narrow = formatMatrix(m, 20, 8, 40);
    expect(narrow.split('\n').every((l) => l.length <= 40 || l.startsWith('…'))).toBe(true);
    expect(narrow).toMatch(/… 9 more columns/); // row_id + 3 columns of 8 characters in 40
    expect(formatMatrix(m, 20, 8, 1000)).not.toMatch(/more columns/);
  });
});

describe('mistique CLI', () => {
  it('has --help on every command', async () => {
    for (const cmd of ['log', 'ls', 'get', 'stats', 'demo', 'diagnose']) {
      const r = await cli(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`usage: mistique ${cmd}`));
    }
    expect((await cli('--help')).out).toMatch(/commands:/);
    expect((await cli('--version')).out).toMatch(/^mistique \d+\.\d+\.\d+$/);
  });

  it('refuses an option a command does not take, instead of ignoring it', async () => {
    for (const [argv, msg] of [
      [['ls', '--json'], /ls: --json is not an option of this command \(it takes --format, --columns\); see mistique ls --help/],
      [['rerun', 'a.b.c', '--out', 'fit.csv'], /rerun: --out is not an option of this command \(it takes --rows, --limit, --format\)/],
      [['log', 'a.b.c', 'x.npy', '--shape', '4x9'], /log x\.npy: --shape is not an option/],
      [['log', 'p.yaml', '--model', 'a.b'], /log p\.yaml: --model is not an option of this command \(it takes --data\)/],
      [['stats', '--rows', '3', '--repair'], /--rows, --repair are not options/],
      [['ls', '--wait', 'soon'], /ls: --wait takes seconds ≥ 0 .*got "soon"/],
      [['rm', 'a.b', '--wait=-1'], /rm: --wait takes seconds ≥ 0/],
    ] as const) {
      const r = await cli(...argv, '--store', path.join(tempDir(), 'none'));
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
    expect((await cli('frobnicate')).code).toBe(2);
  });

  it('logs files, lists, gets and writes every output format', async () => {
    const dir = tempDir();
    const store = path.join(dir, 's');
    const csv = path.join(dir, 'homes.csv');
    fs.writeFileSync(csv, 'id,sqft,zone\n1,1200,"LA, R1"\n2,,LARS\n3,880.5,\n');
    let r = await cli('log', 'zillow.P1.props', csv, '--store', store);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/logged zillow\.P1\.props: 3 rows × 3 columns/);
    r = await cli('ls', '--store', store);
    expect(r.out).toMatch(/zillow\.P1\.props\s+3\s+3/);
    // --store before the command, as `git -C` goes
    for (const lead of [['--store', store], [`--store=${store}`]]) expect((await cli(...lead, 'ls')).out).toMatch(/zillow\.P1\.props\s+3\s+3/);
    expect((await cli('--store')).code).toBe(2);
    r = await cli('get', 'zillow.P1.props.*', '--rows', '1,2,0', '--store', store);
    expect(r.out).toMatch(/1\s+2\s+NaN\s+LARS\n\s+2\s+3\s+880\.5\s+∅/);
    expect(r.out).toMatch(/LA, R1/);
    for (const ext of ['npy', 'arrow', 'parquet', 'csv']) {
      const out = path.join(dir, `out.${ext}`);
      r = await cli('get', 'zillow.P1.props.sqft', '--out', out, '--store', store);
      expect(r.code, r.err).toBe(0);
      expect(fs.statSync(out).size).toBeGreaterThan(0);
    }
    const npy = fs.readFileSync(path.join(dir, 'out.npy'));
    expect(npy.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    expect(npy.toString('latin1')).toMatch(/'descr': '<f8', 'fortran_order': False, 'shape': \(3, 1\)/);
    const arrow = tableFromIPC(fs.readFileSync(path.join(dir, 'out.arrow')));
    // one intermediate's columns by name, as logged, in every format; its row ids beside an .npy
    expect(arrow.schema.fields.map((f) => f.name)).toEqual(['row_id', 'sqft']);
    expect(Array.from(arrow.getChild('sqft')!.toArray() as Float64Array)).toEqual([1200, NaN, 880.5]);
    expect(fs.readFileSync(path.join(dir, 'out.csv'), 'utf8')).toBe('row_id,sqft\n0,1200\n1,NaN\n2,880.5\n');
    expect(fs.readFileSync(path.join(dir, 'out.row_id.npy')).toString('latin1')).toMatch(/'descr': '<i4', 'fortran_order': False, 'shape': \(3,\)/);
    // exports keep the data: text never becomes codes in an .npy; a CSV export logs back with its row ids
    r = await cli('get', 'zillow.P1.props.*', '--out', path.join(dir, 'all.npy'), '--store', store);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\.npy holds numbers and column zillow\.P1\.props\.zone holds text/);
    expect(fs.existsSync(path.join(dir, 'all.npy'))).toBe(false);
    r = await cli('get', 'zillow.P1.props.*', '--rows', '2,0', '--out', path.join(dir, 'all.csv'), '--store', store);
    expect(r.code, r.err).toBe(0);
    r = await cli('log', 'zillow.P1.again', path.join(dir, 'all.csv'), '--store', store);
    expect(r.out).toMatch(/logged zillow\.P1\.again: 2 rows × 3 columns/);
    const back = await cli('get', 'zillow.P1.again.*', '--store', store);
    const orig = await cli('get', 'zillow.P1.props.*', '--rows', '2,0', '--store', store);
    expect(back.out.split('\n').slice(0, 4)).toEqual(orig.out.split('\n').slice(0, 4));
    // results as data on stdout: csv, json, jsonl; what it took on stderr
    r = await cli('get', 'zillow.P1.props.*', '--rows', '2,0', '--out', '-', '--store', store);
    expect(r.out).toBe('row_id,id,sqft,zone\n2,3,880.5,\n0,1,1200,"LA, R1"');
    expect(r.err).toMatch(/^query [\d.]+ ms$/);
    r = await cli('get', 'zillow.P1.props.sqft', '--format', 'jsonl', '--store', store);
    expect(r.out.split('\n').map((l) => JSON.parse(l))).toEqual([{ row_id: 0, sqft: 1200 }, { row_id: 1, sqft: null }, { row_id: 2, sqft: 880.5 }]);
    r = await cli('get', 'zillow.P1.props.*', '--rows', '1', '--format', 'json', '--store', store);
    expect(JSON.parse(r.out)).toMatchObject({ rowIds: [1], rows: [[2, null, 'LARS']], columns: [{ name: 'id', type: 'float64' }, { name: 'sqft' }, { name: 'zone', type: 'utf8' }] });
    expect((await cli('get', 'zillow.P1.props.*', '--out', '-', '--format', 'table', '--store', store)).code).toBe(1);
    r = await cli('ls', '--format', 'csv', '--store', store);
    expect(r.out.split('\n')[0]).toBe('key,rows,columns,shape,scheme,materialized,bytes_raw,bytes_stored,queries');
    expect(r.out).toMatch(/\nzillow\.P1\.props,3,3,,none,1,\d+,\d+,\d+/);
    expect(JSON.parse((await cli('ls', '--format', 'json', '--store', store)).out)).toHaveLength(2);
    // every column listed with its type
    r = await cli('ls', 'zillow.P1.props', '--columns', '--format', 'csv', '--store', store);
    expect(r.out).toBe('key,column,type\nzillow.P1.props,id,float64\nzillow.P1.props,sqft,float64\nzillow.P1.props,zone,utf8');
    // --replace puts new data in an intermediate's place; without it, EXISTS
    fs.writeFileSync(path.join(dir, 'new.csv'), 'row_id,a\n5,1.5\n6,2.5\n');
    expect((await cli('log', 'zillow.P1.again', path.join(dir, 'new.csv'), '--store', store)).err).toMatch(/already stored/);
    r = await cli('log', 'zillow.P1.again', path.join(dir, 'new.csv'), '--replace', '--store', store);
    expect(r.out).toMatch(/logged zillow\.P1\.again: 2 rows × 1 columns/);
    expect((await cli('get', 'zillow.P1.again.*', '--out', '-', '--store', store)).out).toBe('row_id,a\n5,1.5\n6,2.5');
    expect((await cli('ls', '--format', 'csv', '--store', store)).out).not.toMatch(/replacing/);
    // a table says when it rounded; data formats keep every digit
    expect((await cli('get', 'zillow.P1.again.*', '--store', store)).out).not.toMatch(/rounded/);
    fs.writeFileSync(path.join(dir, 'pi.csv'), 'x\n3.14159265358979\n');
    await cli('log', 'zillow.P1.pi', path.join(dir, 'pi.csv'), '--store', store);
    expect((await cli('get', 'zillow.P1.pi.*', '--store', store)).out).toMatch(/3\.14159\n.*values rounded to 6 significant digits/s);
    expect((await cli('get', 'zillow.P1.pi.*', '--format', 'csv', '--store', store)).out).toBe('row_id,x\n0,3.14159265358979');
    r = await cli('stats', '--json', '--store', store);
    expect(JSON.parse(r.out).intermediates).toBe(3);
  });

  it('get --out - --format npy writes the values and the row ids as two .npy arrays on stdout (what the Python package reads)', async () => {
    const dir = tempDir();
    const store = path.join(dir, 's');
    const s = await openStore(store);
    const x = Float32Array.from({ length: 6 * 12 }, (_, i) => i / 4 - 3);
    await s.log('p.m.t', (await import('../src/index.js')).DataFrame.fromTensor(x, [3, 4], Int32Array.from([5, 9, 11, 12, 40, 41])));
    await s.log('p.m.tab', { name: ['a', 'b'], v: [1, 2] });
    await s.close();
    const chunks: Buffer[] = [];
    const err: string[] = [];
    const io = { out: () => undefined, err: (e: string) => err.push(e), write: async (b: Uint8Array) => { chunks.push(Buffer.from(b)); } };
    expect(await run(['get', 'p.m.t.*', '--rows', '9,40', '--out', '-', '--format', 'npy', '--store', store], io), err.join('\n')).toBe(0);
    const all = Buffer.concat(chunks);
    const hlen = all.readUInt16LE(8);
    expect(all.subarray(10, 10 + hlen).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3, 4\), \}/);
    const values = all.subarray(10 + hlen, 10 + hlen + 2 * 12 * 4);
    expect(values.equals(Buffer.concat([Buffer.from(x.buffer, 1 * 48, 48), Buffer.from(x.buffer, 4 * 48, 48)]))).toBe(true);
    const ids = all.subarray(10 + hlen + 96);
    const ihlen = ids.readUInt16LE(8);
    expect(ids.subarray(10, 10 + ihlen).toString('latin1')).toMatch(/'descr': '<i4'.*'shape': \(2,\)/);
    expect(Array.from(new Int32Array(ids.buffer.slice(ids.byteOffset + 10 + ihlen, ids.byteOffset + ids.length)))).toEqual([9, 40]);
    // text has no .npy form: one clear error, exit 1
    err.length = 0;
    expect(await run(['get', 'p.m.tab.*', '--out', '-', '--format', 'npy', '--store', store], io)).toBe(1);
    expect(err.join('\n')).toMatch(/\.npy holds numbers and column p\.m\.tab\.name holds text/);
  });

  it('explains a choice with both estimates, the measured time and how far past estimates were', async () => {
    const dir = path.join(tempDir(), 's');
    const s = await openStore(dir);
    const { x } = batches(loadSubset(), 200).next().value!;
    const run0 = await s.logNetwork('fm.cnn', fs.readFileSync(path.resolve(__dirname, '../datasets/fixtures/tiny_cnn.onnx')), { x, shape: [1, 28, 28] });
    const last = run0.layers[run0.layers.length - 1]!.name;
    await s.close();
    let r = await cli('explain', `fm.cnn.${last}.*`, '--store', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/read est ms\s+re-run est ms\s+choice/);
    for (let k = 0; k < 3; k++) r = await cli('explain', `fm.cnn.${last}.*`, '--run', '--path', 'read', '--store', dir);
    expect(r.out).toMatch(/measured ms/);
    r = await cli('explain', `fm.cnn.${last}.*`, '--store', dir);
    expect(r.out).toMatch(/the last \d+ reads took \d+\.\d\d–\d+\.\d\d× of their estimates \(median \d+\.\d\d×\)/);
    // stats shows the cost model on this machine: the read model and the bands
    r = await cli('stats', '--store', dir);
    expect(r.out).toMatch(/cost model on this machine:\n {2}read model lz4\|none: .* \(\d+ reads\)/);
    expect(r.out).toMatch(/ {2}reads lz4\|none: the last \d+ took [\d.]+–[\d.]+× of their estimates/);
  });

  it('logs .npy tensors with their per-example shape', async () => {
    const dir = tempDir();
    const s = await openStore(path.join(dir, 'src'));
    const values = Float32Array.from({ length: 5 * 2 * 3 * 3 }, (_, i) => i / 10);
    await s.log('a.b.c', { x: new Float64Array(1) });
    await s.close();
    // Write a .npy through our own writer, then log it back.
    const { toNpy } = await import('../src/cli/files.js');
    const { Matrix } = await import('../src/index.js');
    const m = new Matrix(Int32Array.from([0, 1, 2, 3, 4]), Array.from({ length: 18 }, (_, j) => ({ key: `k${j}`, name: `k${j}`, type: 'float32' as const })), values, [2, 3, 3]);
    const file = path.join(dir, 'acts.npy');
    fs.writeFileSync(file, toNpy(m));
    const store = path.join(dir, 's');
    expect((await cli('log', 'fm.cnn_e01.conv1', file, '--store', store)).code).toBe(0);
    const r = await cli('ls', '--store', store);
    expect(r.out).toMatch(/fm\.cnn_e01\.conv1\s+5\s+18\s+\[2,3,3\]/);
    const g = await cli('get', 'fm.cnn_e01.conv1.1_2_*', '--rows', '4', '--store', store);
    expect(g.out).toMatch(/4\s+8\.7\s+8\.8\s+8\.9/); // example 4, channel 1, row 2: values 4·18 + 1·9 + 2·3 + x
    // a whole tensor exports as row_id and one list column with its shape, and logs back as the same tensor
    for (const ext of ['arrow', 'parquet']) {
      const out = path.join(dir, `acts.${ext}`);
      expect((await cli('get', 'fm.cnn_e01.conv1.*', '--out', out, '--store', store)).code).toBe(0);
      if (ext === 'arrow') {
        const t = tableFromIPC(fs.readFileSync(out));
        expect(t.schema.fields.map((f) => f.name)).toEqual(['row_id', 'fm.cnn_e01.conv1']);
        expect(t.schema.fields[1]!.metadata.get('mistique.shape')).toBe('[2,3,3]');
      }
      expect((await cli('log', `fm.back.${ext}`, out, '--store', store)).code).toBe(0);
      const back = await openStore(store);
      const a = await back.getIntermediates('fm.cnn_e01.conv1.*'), b = await back.getIntermediates(`fm.back.${ext}.*`);
      expect(b.shape).toEqual([2, 3, 3]);
      expect(Array.from(b.rowIds)).toEqual(Array.from(a.rowIds));
      expect(Buffer.from(b.values.buffer, b.values.byteOffset, b.values.byteLength).equals(Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength))).toBe(true);
      await back.close();
    }
  });

  it('reports bad input as one clear line and exit code 1', async () => {
    const dir = tempDir();
    const store = path.join(dir, 's');
    let r = await cli('get', 'a.b', '--store', store);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/malformed/);
    fs.writeFileSync(path.join(dir, 'junk.txt'), 'x');
    r = await cli('ls', '--store', dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not a mistique store/);
    r = await cli('get', 'a.b.c.d', '--rows', '5-1', '--store', store);
    expect(r.err).toMatch(/ends before it starts/);
    r = await cli('log', 'p.m.x', path.join(dir, 'missing.csv'), '--store', store);
    expect(r.err).toMatch(/does not exist/);
    expect(fs.existsSync(store)).toBe(false);
  });

  it('takes a negative row id after --rows or --row as a value, and refuses a --limit that is not a whole number of rows', async () => {
    expect(negativeValues(['get', 'p.m.x.*', '--rows', '-1', '--row', '-5,7', '--limit', '3', '-h', '--k', '-2'])).toEqual(['get', 'p.m.x.*', '--rows=-1', '--row=-5,7', '--limit', '3', '-h', '--k=-2']);
    const store = path.join(tempDir(), 's');
    const s = await openStore(store);
    await s.log('p.m.n', { v: Float64Array.from([10, 11, 12, 13]) }, { rowIds: Int32Array.from([-5, -1, 0, 7]) });
    await s.close();
    let r = await cli('get', 'p.m.n.*', '--rows', '-1', '--format', 'csv', '--store', store);
    expect([r.code, r.out]).toEqual([0, 'row_id,v\n-1,11']); // before: "Option '--rows' argument is ambiguous" (exit 2)
    // data logged as it is has nothing to re-run it from: said, with what can be re-run
    r = await cli('rerun', 'p.m.n', '--rows', '-1', '--store', store);
    expect([r.code, r.err]).toEqual([1, 'mistique rerun: p.m is not a logged workflow: only what a pipeline (mistique log spec.yaml) or a network (mistique log model.onnx) computed can be re-run; data logged as it is (a file, a stream, store.log) has nothing to re-run it from']);
    for (const bad of ['-3', 'abc', '2.5', '']) {
      r = await cli('get', 'p.m.n.*', '--limit', bad, '--store', store);
      expect([r.code, r.err]).toEqual([1, `mistique get: --limit ${bad}: give a whole number of rows`]); // -3 had printed no row and "… 7 more rows"
    }
  });

  it('log of a checkpoint checks --model and --images before it reads an example', async () => {
    const store = path.join(tempDir(), 's');
    const onnx = path.join(tempDir(), 'none.onnx'); // never opened: the options fail first
    for (const [args, msg] of [
      [['--model', 'bad'], 'a network is logged under project.model (e.g. fmnist.cnn_e03), got "bad"'], // was: the dataset's absence
      [['--model', 'a.b c'], 'model name "b c" is not allowed'],
      [['--model', 'p.m', '--images', 'foo'], '--images foo: give test, train or subset (Fashion-MNIST), or your own examples with --input x.npy'], // was: the test set
    ] as const) {
      const r = await cli('log', onnx, ...args, '--store', store);
      expect(r.code).toBe(1);
      expect(r.err).toContain(msg);
    }
    expect(fs.existsSync(store)).toBe(false);
  });

  it("a kernel's failure in onnxruntime is one line on stderr: mistique's, with onnxruntime's message (its logger printed it twice more before)", () => {
    const dir = tempDir();
    const ids = path.join(dir, 'ids.npy'), mask = path.join(dir, 'mask.npy');
    const npy = (file: string, v: BigInt64Array): void => fs.writeFileSync(file, Buffer.concat([npyHeader('<i8', [2, 8]), Buffer.from(v.buffer)]));
    npy(ids, new BigInt64Array(16).fill(1_000_000n)); // token ids past the vocabulary: the embedding's Gather fails
    npy(mask, new BigInt64Array(16).fill(1n));
    const bin = path.join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'bin.js');
    const model = path.join(import.meta.dirname, '..', 'datasets', 'fixtures', 'tiny_text.onnx');
    // as a user runs it: without the test runner's ORT_DISABLE_TELEMETRY (vitest.config.ts)
    const { ORT_DISABLE_TELEMETRY: _, ...env } = process.env;
    const r = spawnSync(process.execPath, [bin, 'log', model, '--model', 'p.m', '--input', `input_ids=${ids},attention_mask=${mask}`, '--store', path.join(dir, 's')], { encoding: 'utf8', env });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^mistique log: onnxruntime failed running p\.m on examples 0…1 .*Gather.*; check that the input shape and type are what the model expects$/)]);
    // onnxruntime ran with its telemetry off (src/executor/onnx/ort.ts): it leaves a log per process in /tmp when on
    expect(fs.existsSync(path.join(os.tmpdir(), `mat-debug-${r.pid}.log`))).toBe(false);
  });

  it('get shows a wide layer by reading the rows it shows, not the layer: the same table, counted the same', async () => {
    const store = path.join(tempDir(), 's');
    const s = await openStore(store);
    const n = 3000, x = Float32Array.from({ length: n * 64 }, (_, i) => (i % 97) / 7);
    await s.log('p.m.wide', DataFrame.fromTensor(x, [4, 4, 4], Int32Array.from({ length: n }, (_, i) => 10 * i)));
    await s.log('p.m.few', { v: Float64Array.from({ length: 10 }, (_, i) => i) }, { rowIds: Int32Array.from({ length: 10 }, (_, i) => 20 * i) });
    const { formatMatrix } = await import('../src/cli/format.js');
    const whole = await s.getIntermediates('p.m.wide.*');
    const joined = await s.getIntermediates(['p.m.wide.*', 'p.m.few.v']);
    expect(Array.from(await s.rowIds(['p.m.wide.*', 'p.m.few.v']))).toEqual(Array.from(joined.rowIds)); // rows every key has, in order
    const before = s.list('p.m.wide')[0]!.queries;
    await s.close();
    for (const [keys, full, limit] of [[['p.m.wide.*'], whole, 20], [['p.m.wide.*'], whole, 5], [['p.m.wide.*', 'p.m.few.v'], joined, 3]] as const) {
      const r = await cli('get', ...keys, '--limit', String(limit), '--store', store);
      expect(r.code).toBe(0);
      expect(r.out.split('\nquery ')[0]).toBe(formatMatrix(full, limit, 8, undefined));
    }
    const after = await openStore(store);
    expect(after.list('p.m.wide')[0]!.queries).toBe(before + 3);
    await after.close();
  });

  it('get writes CSV, JSON and JSON lines to stdout a few MB at a time, the same text as one piece (a layer of GBs had failed: Invalid string length)', async () => {
    const { matrixTextPieces } = await import('../src/cli/files.js');
    const { csvText } = await import('../src/export/writers.js');
    const { columnNames } = await import('../src/cli/format.js');
    const store = path.join(tempDir(), 's');
    const s = await openStore(store);
    const n = 300, w = 2000; // 600 000 cells: three pieces of ~250 000
    const x = Float32Array.from({ length: n * w }, (_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -Infinity : (i % 101) / 7));
    await s.log('p.m.wide', DataFrame.fromTensor(x, [w]));
    await s.log('p.m.text', { t: ['a,b', 'say "hi"', null], v: Float64Array.of(1.5, NaN, 3) });
    for (const key of ['p.m.wide.*', 'p.m.text.*']) {
      const m = await s.getIntermediates(key);
      const names = columnNames(m);
      const val = (i: number, j: number): number | string | null => { const v = m.get(i, j); return typeof v === 'number' && !Number.isFinite(v) ? null : v; };
      const rows = Array.from({ length: m.nrows }, (_, i) => Array.from({ length: m.ncols }, (_, j) => val(i, j)));
      // what each format was as one string before
      const want = {
        csv: ['row_id,' + names.map((c) => (/[",\n\r]/.test(c) ? `"${c}"` : c)).join(','), ...rows.map((r, i) => [m.rowIds[i], ...r.map((v, j) => (v === null ? (typeof m.get(i, j) === 'number' ? String(m.get(i, j)) : '') : /[",\n\r]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v)))].join(','))].join('\n') + '\n',
        json: JSON.stringify({ rowIds: Array.from(m.rowIds), shape: m.shape, columns: m.columns.map((c, j) => ({ name: names[j], key: c.key, type: c.type })), rows }) + '\n',
        jsonl: rows.map((r, i) => JSON.stringify(Object.fromEntries([['row_id', m.rowIds[i]], ...r.map((v, j) => [names[j], v])]))).join('\n') + '\n',
      };
      expect(csvText(m), key).toBe(want.csv);
      for (const format of ['csv', 'json', 'jsonl'] as const) {
        const pieces = [...matrixTextPieces(m, format)];
        expect(pieces.join(''), `${key} ${format}`).toBe(want[format]);
        if (key === 'p.m.wide.*') expect(pieces.length, format).toBeGreaterThanOrEqual(3);
      }
    }
    await s.close();
    // through the command, as it writes to a pipe
    const chunks: Buffer[] = [];
    const code = await run(['get', 'p.m.wide.*', '--format', 'jsonl', '--store', store], { out: () => undefined, err: () => undefined, write: async (b) => { chunks.push(Buffer.from(b)); } });
    expect(code).toBe(0);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(Buffer.concat(chunks).toString('utf8').split('\n').length).toBe(n + 1);
  });

  it('--wait holds for its own command: the next run in the same process does not wait', async () => {
    const store = path.join(tempDir(), 's');
    const writer = await openStore(store);
    await writer.log('p.m.x', { v: Float64Array.of(1) }); // holds the write lock
    await writer.flush();
    let r = await cli('rm', 'p.m.x', '--wait', '0.1', '--store', store);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/is being written by .*; waited 100 ms\./)]);
    r = await cli('rm', 'p.m.x', '--store', store);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/is being written by /);
    expect(r.err).not.toMatch(/waited/); // it had kept the 100 ms of the run before
    await writer.close();
  });

  it('a first command that fails leaves no empty store behind; an existing store or directory stays as it was', async () => {
    const dir = tempDir();
    const good = path.join(dir, 'ok.csv');
    fs.writeFileSync(good, 'a\n1\n');
    // a shape the column cannot take: an error from the store, once it is open (and created)
    const bad = ['log', 'p.m.i', good, '--shape', '3x3'];
    const fresh = path.join(dir, 'new-store');
    const r = await cli(...bad, '--store', fresh);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/shape/);
    expect(fs.existsSync(fresh)).toBe(false);
    // a store that holds something keeps it and its files
    expect((await cli('log', 'p.m.ok', good, '--store', fresh)).code).toBe(0);
    expect((await cli(...bad, '--store', fresh)).code).toBe(1);
    expect((await cli('ls', '--store', fresh)).out).toMatch(/p\.m\.ok/);
  });

  it("prints its hints as the user's shell reaches the command: npx mistique in a clone, node <its bin.js> elsewhere, mistique once it is on the PATH", () => {
    const bins = new Set(['/repo/node_modules/.bin/mistique', '/usr/local/bin/mistique']);
    const has = (f: string): boolean => bins.has(f);
    const npmPath = ['/repo/node_modules/.bin', '/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin', '/usr/bin'].join(path.delimiter);
    // npm run demo in a clone: only npm's own node_modules/.bin (which the shell will not have) holds it; npx finds the package it stands in
    expect(hintCommand(npmPath, has, '/repo', '/repo')).toBe('npx mistique');
    expect(hintCommand('', has, '/repo/sub', '/repo')).toBe('npx mistique');
    // run from another directory (/repository is not inside /repo): npx would ask the registry for a package named mistique
    expect(hintCommand(npmPath, has, '/tmp/work', '/repo')).toBe(`node ${path.join('/repo', 'dist', 'src', 'cli', 'bin.js')}`);
    expect(hintCommand('', has, '/repository', '/repo')).toBe(`node ${path.join('/repo', 'dist', 'src', 'cli', 'bin.js')}`);
    expect(hintCommand('', has, '/tmp', '/my repo')).toBe(`node '${path.join('/my repo', 'dist', 'src', 'cli', 'bin.js')}'`);
    // a global install (or npm link): on the shell's PATH
    expect(hintCommand(['/repo/node_modules/.bin', '/usr/local/bin', '/usr/bin'].join(path.delimiter), has, '/tmp', '/repo')).toBe('mistique');
  });

  it('runs the demo end to end', async () => {
    const dir = path.join(tempDir(), 'demo');
    const r = await cli('demo', '--store', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/POINTQ/);
    expect(r.out).toMatch(/de-duplication keeps/);
    expect((await cli('demo', '--store', dir)).code).toBe(0); // re-runnable
    // every command the demo suggests runs as printed on the store it wrote
    const png0 = path.join(tempDir(), 'hint.png');
    for (const argv of demoHints(dir)) {
      expect(r.out).toContain(`mistique ${argv[0]}`);
      const h = await cli(...argv.map((a) => (a === 'vis.png' ? png0 : a)));
      expect(h.code, `mistique ${argv.join(' ')}: ${h.err}`).toBe(0);
    }

    // rerun as data: every value at full precision, exactly what a stored read gives for this re-creatable stage
    const rr = await cli('rerun', 'zillow.P1_1.pred_test', '--rows', '1-4', '--format', 'csv', '--store', dir);
    expect(rr.code, rr.err).toBe(0);
    const back = rr.out.trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    const storedPreds = await cli('get', 'zillow.P1_1.pred_test.*', '--rows', '1-4', '--format', 'csv', '--path', 'read', '--store', dir);
    expect(back).toEqual(storedPreds.out.trim().split('\n').slice(1).map((l) => l.split(',').map(Number)));
    expect(back.map((r) => r[0])).toEqual([1, 2, 3, 4]);
    expect(rr.err).toMatch(/re-run \d+ ms/);

    // diagnostics on the demo's store: the network's layers, its labels, a pipeline's predictions
    const d = (...a: string[]) => cli('diagnose', ...a, '--store', dir);
    let x = await d('svcca', 'fmnist.tiny_e01.dense2', 'fmnist.tiny_e01.pool2');
    expect(x.code, x.err).toBe(0);
    const score = Number(/SVCCA .*: ([\d.]+)/.exec(x.out)![1]);
    expect(score).toBeGreaterThan(0.5);
    expect(score).toBeLessThanOrEqual(1);
    expect(x.out).not.toMatch(/caution/);
    // over 15 examples the two layers keep more directions than the examples span: the score is 1 by dimension count
    x = await d('svcca', 'fmnist.tiny_e01.dense2', 'fmnist.tiny_e01.pool2', '--rows', '0-14');
    expect(x.code, x.err).toBe(0);
    expect(x.out).toMatch(/caution: \d+ of the \d+ correlations are 1 by dimension count alone .* in the 14 that 15 examples span/);
    x = await d('knn', 'fmnist.tiny_e01.pool2', '--row', '51', '--k', '5', '--by', 'fmnist.data.labels', '--classes', 'fashion-mnist');
    expect(x.out).toMatch(/query\s+51\s+0\s+\d \w+/);
    expect(x.out.split('\n').filter((l) => /^\s+\d\s+\d+\s/.test(l))).toHaveLength(5);
    x = await d('topk', 'fmnist.tiny_e01.dense2.9', '--k', '3', '--by', 'fmnist.data.labels', '--classes', 'fashion-mnist');
    expect(x.out).toMatch(/9 Ankle boot/);
    // an integer label is its own dataset's class: named only when --classes says how
    x = await d('topk', 'fmnist.tiny_e01.dense2.9', '--k', '3', '--by', 'fmnist.data.labels');
    expect(x.code, x.err).toBe(0);
    expect(x.out).not.toMatch(/Ankle boot/);
    x = await d('topk', 'fmnist.tiny_e01.dense2.9', '--k', '3', '--by', 'fmnist.data.labels', '--classes', 'a,b,c,d,e,f,g,h,i,boot');
    expect(x.out).toMatch(/9 boot/);
    x = await d('topk', 'fmnist.tiny_e01.dense2.9', '--k', '3', '--by', 'fmnist.data.labels', '--classes', 'a,,b');
    expect(x.code).not.toBe(0);
    expect(x.err).toMatch(/--classes takes fashion-mnist or names separated by commas/);
    const png = path.join(tempDir(), 'vis.png');
    x = await d('heatmap', 'fmnist.tiny_e01.relu4', '--by', 'fmnist.data.labels', '--per-channel', '--out', png);
    expect(x.code, x.err).toBe(0);
    expect(fs.readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    // --by the logits: each example's predicted class (it had refused the first logit as "no class")
    x = await d('heatmap', 'fmnist.tiny_e01.relu4', '--by', 'fmnist.tiny_e01.dense2', '--per-channel', '--out', png, '--json');
    expect(x.code, x.err).toBe(0);
    expect(x.err).toMatch(/--by fmnist\.tiny_e01\.dense2: 10 columns of scores; each example's class is the column of its largest/);
    const { openStore: reopen } = await import('../src/index.js');
    const st = await reopen(dir, { create: false });
    const logits = await st.getIntermediates('fmnist.tiny_e01.dense2.*');
    await st.close();
    const predicted = new Map<number, number>();
    for (let i = 0; i < logits.nrows; i++) { const r = Array.from(logits.row(i)); const c = r.indexOf(Math.max(...r)); predicted.set(c, (predicted.get(c) ?? 0) + 1); }
    const h = JSON.parse(x.out) as { classes: number[]; counts: number[] };
    expect(new Map(h.classes.map((c, k) => [c, h.counts[k]!]))).toEqual(predicted);
    const nd = path.join(tempDir(), 'nd.png');
    x = await d('netdissect', 'fmnist.tiny_e01.relu2', '--limit', '4', '--out', nd);
    expect(x.out).toMatch(/4 units over 500 images/);
    expect(fs.readFileSync(nd).subarray(1, 4).toString()).toBe('PNG');
    x = await d('coldist', 'zillow.P1_1.pred_test.pred', '--bins', '5');
    expect(x.out).toMatch(/3000 rows \(0 NaN/);
    x = await d('coldiff', 'zillow.P1_1.pred_valid.pred', 'zillow.P1_1.labels.logerror');
    expect(x.out).toMatch(/of \d+ shared rows differ/);
    x = await d('rowdiff', 'fmnist.tiny_e01.dense2', '--rows', '3,4', '--limit', '3');
    expect(x.out).toMatch(/difference/);
    expect((await d('pointq', 'fmnist.tiny_e01.pool2', '--row', '3', '--k', '1')).err).toMatch(/pointq does not take --k \(the k of knn and topk\): use --channel/);
    x = await d('pointq', 'fmnist.tiny_e01.pool2', '--row', '3', '--channel', '1');
    // every technique answers as data with --json
    for (const argv of [['pointq', 'fmnist.tiny_e01.dense2', '--row', '3'], ['topk', 'fmnist.tiny_e01.dense2.9', '--k', '3'], ['rowdiff', 'fmnist.tiny_e01.dense2', '--rows', '3,4'],
      ['knn', 'fmnist.tiny_e01.pool2', '--row', '51', '--k', '2'], ['coldist', 'fmnist.tiny_e01.dense2.9']]) {
      const j = await d(...argv, '--json');
      expect(j.code, `${argv.join(' ')}: ${j.err}`).toBe(0);
      expect(() => JSON.parse(j.out), argv.join(' ')).not.toThrow();
    }
    expect(JSON.parse((await d('topk', 'fmnist.tiny_e01.dense2.9', '--k', '3', '--json')).out).rowIds).toHaveLength(3);
    expect(x.out).toMatch(/row 3, channel 1 of 8 \(7×7\)/);
    x = await d('frobnicate');
    expect(x.code).toBe(1);
    expect(x.err).toMatch(/needs a technique: pointq, topk/);
    x = await d('heatmap', 'fmnist.tiny_e01.relu4');
    expect(x.err).toMatch(/--by/);
  }, 120_000);
});
