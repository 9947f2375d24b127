// Partitions unit by unit: how an open partition lays its chunks out in segments, the atomic write, the
// file-descriptor cache of reads, and mapLimit's rules (src/store/partition.ts).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChunkData } from '../src/model/dataframe.js';
import { loadCodec } from '../src/store/codecs/index.js';
import { checksum } from '../src/store/checksum.js';
import { mapLimit, OpenPartition, PartitionFiles, partitionFileName, ScratchBuffers, writeAll, writePartition } from '../src/store/partition.js';
import { DataFrame } from '../src/index.js';
import { tempDir, tempStore, thrownCodeAsync, thrownErrorAsync } from './helpers.js';

const f64 = (nrows: number, ncols = 1, v = 0): ChunkData => ({ type: 'float64', nrows, ncols, values: new Float64Array(nrows * ncols).fill(v) });
const tile = (nrows: number, ncols: number): ChunkData => ({ type: 'float32', nrows, ncols, values: new Float32Array(nrows * ncols), order: 'row' });

describe('open partition layout', () => {
  it('groups lie together in order of first arrival; a segment is cut at its byte size or another row count', () => {
    const p = new OpenPartition(7, 64);
    p.add(1, f64(2), 10); // 16 bytes
    p.add(2, f64(2));     // its own group
    p.add(3, f64(2), 10); // joins blob 1
    p.add(4, f64(3));     // 3 rows: a segment of its own
    p.add(5, f64(2, 3));  // 48 bytes: 2 rows again, a new segment
    p.add(6, f64(2, 2), 10); // joins 1 and 3: 32 more bytes
    expect(p.rawBytes).toBe(16 + 16 + 16 + 24 + 48 + 32);
    const { segments, where } = p.layout();
    // order: group 10 (1, 3, 6), then 2, then 4, then 5
    expect(segments.map((s) => ({ nrows: s.nrows, rawLength: s.rawLength, ncols: s.ncols }))).toEqual([
      { nrows: 2, rawLength: 64, ncols: 4 }, // 1 (16) + 3 (16) + 6 (32) = 64: full at exactly the size
      { nrows: 2, rawLength: 16, ncols: 1 }, // 2
      { nrows: 3, rawLength: 24, ncols: 1 }, // 4
      { nrows: 2, rawLength: 48, ncols: 3 }, // 5
    ]);
    expect(Object.fromEntries([...where].map(([b, w]) => [b, [w.segment, w.slot.colStart, w.slot.byteOffset, w.slot.byteLength]]))).toEqual({
      1: [0, 0, 0, 16], 3: [0, 1, 16, 16], 6: [0, 2, 32, 32], 2: [1, 0, 0, 16], 4: [2, 0, 0, 24], 5: [3, 0, 0, 48],
    });
    expect(p.chunk(5).ncols).toBe(3);
    expect(() => p.chunk(99)).toThrow('open partition 7 has no blob 99');
  });

  it('a chunk larger than a segment gets one to itself; a row-major tile is one column; odd sizes align to 8 bytes', () => {
    const p = new OpenPartition(1, 16);
    p.add(1, f64(1));      // 8
    p.add(2, f64(1, 4));   // 32 > 16: its own segment, even though the first is not full
    p.add(3, tile(1, 3));  // 12 bytes, 16 aligned
    p.add(4, tile(1, 1));  // 4 bytes, 8 aligned: 16 + 8 > 16
    const { segments, where } = p.layout();
    expect(segments.map((s) => [s.rawLength, s.ncols])).toEqual([[8, 1], [32, 4], [16, 1], [8, 1]]);
    expect(where.get(3)!.slot).toMatchObject({ byteLength: 12, colStart: 0, ncols: 3 });
    expect(p.rawBytes).toBe(8 + 32 + 16 + 8);
  });
});

describe('partition files', () => {
  it('are written whole under their name (temp file renamed), each segment with its offset, lengths and CRC', async () => {
    const dir = tempDir();
    const codec = await loadCodec('lz4');
    const p = new OpenPartition(12, 32);
    p.add(1, f64(2, 2, 1.5));
    p.add(2, f64(2, 1, 2.5));
    const { segments } = p.layout();
    const { partition, segments: rows } = await writePartition(dir, p, segments, codec);
    expect(partitionFileName(12, codec)).toBe('p00000012.lz4');
    expect(fs.readdirSync(dir)).toEqual(['p00000012.lz4']);
    const bytes = fs.readFileSync(path.join(dir, 'p00000012.lz4'));
    expect(partition).toEqual({ id: 12, codec: 'lz4', file: 'p00000012.lz4', bytes: bytes.length, raw_bytes: 48, n_segments: 2 });
    expect(rows.map((r) => [r.partition_id, r.seg, r.raw_length])).toEqual([[12, 0, 32], [12, 1, 16]]);
    expect(rows[0]!.offset).toBe(0);
    expect(rows[1]!.offset).toBe(rows[0]!.length);
    expect(rows[1]!.offset + rows[1]!.length).toBe(bytes.length);
    for (const r of rows) expect(r.crc32).toBe(checksum(bytes.subarray(r.offset, r.offset + r.length)));
    // a read of each segment gives its bytes; a short file is CORRUPT naming what was short
    const files = new PartitionFiles(dir);
    expect(Buffer.from(await files.read('p00000012.lz4', rows[1]!))).toEqual(bytes.subarray(rows[1]!.offset));
    fs.truncateSync(path.join(dir, 'p00000012.lz4'), bytes.length - 1);
    expect(await thrownErrorAsync(files.read('p00000012.lz4', rows[1]!))).toBe(`CORRUPT: partition p00000012.lz4 segment 1: read ${rows[1]!.length - 1} of ${rows[1]!.length} bytes at offset ${rows[1]!.offset}; the file is truncated`);
    expect(await thrownErrorAsync(files.read('p00000099.lz4', rows[0]!))).toBe(`CORRUPT: partition file p00000099.lz4 is missing from ${dir}: the store was modified outside mistique`);
    files.close();
  });

  it('a failed write leaves no file behind, not even its temp file', async () => {
    const dir = tempDir();
    const codec = await loadCodec('lz4');
    const p = new OpenPartition(3, 1024);
    p.add(1, f64(4));
    const failing = { ...codec, encodeMany: undefined, encode: async () => { throw new Error('disk full'); } };
    await expect(writePartition(dir, p, p.layout().segments, failing)).rejects.toThrow('disk full');
    expect(fs.readdirSync(dir)).toEqual([]);
    // a codec that encodes a partition's segments at once (LZ4 on liblz4) fails the same way
    const failingMany = { ...codec, encodeMany: async () => { throw new Error('out of memory'); } };
    await expect(writePartition(dir, p, p.layout().segments, failingMany)).rejects.toThrow('out of memory');
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(writePartition(path.join(dir, 'gone'), p, p.layout().segments, codec)).rejects.toThrow(/ENOENT/);
  });

  it('writeAll writes every part in order however little each writev takes, and nothing for empty parts', async () => {
    const got: number[] = [];
    let calls = 0;
    // a writev that takes at most 5 bytes a call (a full pipe, a signal), across part boundaries
    const fh = {
      writev: async (bufs: Uint8Array[]) => {
        calls++;
        let n = 0;
        for (const b of bufs) for (const x of b) if (n < 5) { got.push(x); n++; }
        return { bytesWritten: n, buffers: bufs };
      },
    };
    const parts = [Uint8Array.from([1, 2, 3]), new Uint8Array(0), Uint8Array.from([4, 5, 6, 7, 8, 9, 10]), Uint8Array.from([11]), new Uint8Array(0)];
    await writeAll(fh as never, parts);
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(calls).toBe(3);
    calls = 0;
    await writeAll(fh as never, [new Uint8Array(0)]);
    expect(calls).toBe(0);
  });

  it('keeps at most maxOpen descriptors, the least recently used closed first', async () => {
    const dir = tempDir();
    for (const f of ['a', 'b', 'c']) fs.writeFileSync(path.join(dir, f), f.repeat(8));
    const files = new PartitionFiles(dir, 2);
    const fdsOpen = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = fdsOpen();
    await files.readRange('a', 0, 8, 'x');
    await files.readRange('b', 0, 8, 'x');
    expect(fdsOpen()).toBe(before + 2);
    await files.readRange('a', 0, 8, 'x'); // a is now the most recent
    await files.readRange('c', 0, 8, 'x'); // b goes
    expect(fdsOpen()).toBe(before + 2);
    fs.rmSync(path.join(dir, 'b'));
    fs.rmSync(path.join(dir, 'a'));
    // a is still open (read through its descriptor); b was closed, so it is missing now
    expect(Buffer.from(await files.readRange('a', 2, 4, 'x')).toString()).toBe('aaaa');
    expect(await thrownCodeAsync(files.readRange('b', 0, 8, 'x'))).toBe('CORRUPT');
    files.close();
    expect(fdsOpen()).toBe(before);
  });
});

describe('scratch buffers for bytes read only to be decoded', () => {
  it('take gives a buffer of the asked length, of its own 8-byte aligned memory; a given-back one is taken again; at most `keep`, none over maxBytes', () => {
    const s = new ScratchBuffers(2, 200 * 1024);
    const a = s.take(1000);
    expect(a.length).toBe(1000);
    expect(a.byteOffset % 8).toBe(0);
    expect(a.buffer.byteLength).toBe(64 * 1024); // sized in 64 KB steps
    const b = s.take(70 * 1024);
    expect(b.buffer).not.toBe(a.buffer);
    expect(b.buffer.byteLength).toBe(128 * 1024);
    s.give(a);
    s.give(b);
    // the first given-back buffer large enough serves, as a view of its whole memory
    const c = s.take(100 * 1024);
    expect(c.buffer).toBe(b.buffer);
    const d = s.take(10);
    expect(d.buffer).toBe(a.buffer);
    const e = s.take(10); // none left: a new one
    expect(e.buffer).not.toBe(a.buffer);
    s.give(c); s.give(d); s.give(e); // keep 2: e is dropped
    expect([s.take(1).buffer, s.take(1).buffer, s.take(1).buffer].filter((x) => x === e.buffer)).toEqual([]);
    const big = s.take(300 * 1024);
    s.give(big); // over maxBytes: not kept
    expect(s.take(300 * 1024).buffer).not.toBe(big.buffer);
  });

  it('segments decoded from reused buffers stay intact in the bufferpool (gzip, LZ4): each read row equals what was logged after many other reads', async () => {
    for (const codec of ['gzip', 'lz4'] as const) {
      const store = await tempStore({ codec });
      const n = 120, C = 4096;
      const v = Float32Array.from({ length: n * C }, (_, i) => Math.max(0, Math.sin(i * 0.37) * 5));
      await store.log('p.m.t', DataFrame.fromTensor(v, [C]));
      await store.flush();
      store.dropCaches();
      const rowOf = (r: number): number[] => Array.from(v.subarray(r * C, (r + 1) * C));
      // row 0's segments decoded and kept; then reads of every other RowBlock reuse the scratch buffers
      expect(Array.from((await store.getIntermediates('p.m.t.*', { rows: [0], path: 'read' })).values), codec).toEqual(rowOf(0));
      for (let r = 5; r < n; r += 7) expect(Array.from((await store.getIntermediates('p.m.t.*', { rows: [r], path: 'read' })).values), `${codec} row ${r}`).toEqual(rowOf(r));
      expect(Array.from((await store.getIntermediates('p.m.t.*', { rows: [0, 1], path: 'read' })).values), codec).toEqual([...rowOf(0), ...rowOf(1)]);
    }
  });
});

describe('mapLimit', () => {
  it('runs at most limit at a time, keeps the order of results, and gives an empty list for none', async () => {
    let running = 0, peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (x, i) => {
      running++; peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, x * 3));
      running--;
      return x * 10 + i;
    });
    expect(out).toEqual([50, 11, 42, 23, 34]);
    expect(peak).toBe(2);
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });

  it('after a failure starts nothing new and rejects only once the calls under way have ended', async () => {
    const started: number[] = [];
    let ended = 0;
    const p = mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
      started.push(x);
      if (x === 1) throw new Error('item 1 failed');
      await new Promise((r) => setTimeout(r, 30));
      ended++;
      return x;
    });
    await expect(p).rejects.toThrow('item 1 failed');
    expect(ended).toBe(started.length - 1); // every call that started and did not fail had ended
    expect(started).toEqual([0, 1]);
  });
});
