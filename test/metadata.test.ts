import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetadataDB, type BlobRow } from '../src/metadata/metadatadb.js';
import { tempDir } from './helpers.js';

describe('MetadataDB', () => {
  it('registers a million chunks in seconds', () => {
    const db = new MetadataDB(path.join(tempDir(), 'm.db'), { create: true });
    const nBlocks = 1000, nCols = 1000;
    const blobs: BlobRow[] = [];
    const chunks = [];
    let id = 1;
    for (let b = 0; b < nBlocks; b++) {
      for (let c = 0; c < nCols; c++) {
        const hash = Buffer.alloc(20);
        hash.writeUInt32LE(id, 0);
        blobs.push({ id, hash, partition_id: 1 + (b >> 4), segment: c >> 3, type: 'float32', n_rows: 1024, n_cols: 1, col_start: c & 7, byte_offset: 0, byte_length: 4096 });
        chunks.push({ block: b, col_start: c, n_cols: 1, blob_id: id++ });
      }
    }
    const t0 = performance.now();
    const iid = db.insertIntermediate({
      project: 'p', model: 'm', name: 'wide', originalName: null, nRows: 1024 * nBlocks, nCols, shape: null, scheme: 'none',
      rowBlockSize: 1024, tileCols: 1, chunkOrder: 'col', rowIdStart: 0, policy: 'dedup', bytesRaw: 0, bytesNew: 0, nChunksDedup: 0, tLogMs: 0,
      columns: Array.from({ length: nCols }, (_, i) => ({ idx: i, name: `c${i}`, type: 'float32' as const, count: 1 })),
      rowblocks: Array.from({ length: nBlocks }, (_, b) => ({ block: b, n_rows: 1024, min_row_id: b * 1024, max_row_id: b * 1024 + 1023, sorted: 1, rowid_blob: 1 })),
      chunks,
    });
    db.insertPartition({ id: 1, codec: 'gzip', file: 'x', bytes: 0, raw_bytes: 0, n_segments: 0 }, [], blobs);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(30_000);
    expect(db.blockChunks(iid, 999, 999).length).toBe(nCols);
    expect(db.blobIdByHash(blobs[123_456]!.hash)).toBe(123_457);
    db.close();
  });
});

describe('stored bytes per intermediate (cached in the meta table)', () => {
  it('equal a fresh computation after every change: logs, a delete and a re-log that reuses the id, gc', async () => {
    const { tempStore: open, rng: rand } = await import('./helpers.js');
    const store = await open();
    const r = rand(4);
    const fresh = (): Map<number, number> => (store.metadata as unknown as { computeStoredBytes(): Map<number, number> }).computeStoredBytes();
    const check = async (): Promise<void> => {
      await store.flush();
      for (let k = 0; k < 2; k++) expect(store.metadata.storedBytesByIntermediate()).toEqual(fresh()); // computed, then from the cache
    };
    await store.log('p.m.a', { x: Float64Array.from({ length: 5000 }, () => r()) });
    await store.log('p.m.b', { x: Float64Array.from({ length: 5000 }, () => r()) });
    await check();
    store.delete('p.m.b');
    await store.log('p.m.b', { x: Float64Array.from({ length: 5000 }, (_, i) => i) }); // the deleted one's id, reused
    await check();
    await store.log('p.m.c', { x: Float64Array.from({ length: 5000 }, (_, i) => i) }); // all de-duplicated: no new blob
    await check();
    store.delete('p.m.a');
    await store.gc({ all: true });
    await check();
    await store.close();
  });
});
