// A store's manifest (mistique.json) and the checks of the options a store is opened with, unit by unit:
// what is created, what a reopen accepts, and each refusal's code and words.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEGMENT_BYTES, fraction, MANIFEST, positive, readOrCreateManifest } from '../src/store/manifest.js';
import { checkStoreOptions } from '../src/storeoptions.js';
import { tempDir, thrownError } from './helpers.js';

describe('store manifest', () => {
  it('creates mistique.json (lz4, 1 024-row RowBlocks by default) and partitions/, and reads it back', () => {
    const root = path.join(tempDir(), 's');
    const m = readOrCreateManifest(root, {});
    expect(m).toMatchObject({ format: 'mistique-store', version: 1, codec: 'lz4', rowBlockSize: 1024, maxChunksPerBlock: 1024, created: true });
    expect(fs.statSync(path.join(root, 'partitions')).isDirectory()).toBe(true);
    const text = fs.readFileSync(path.join(root, MANIFEST), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ format: 'mistique-store', version: 1, codec: 'lz4', rowBlockSize: 1024, maxChunksPerBlock: 1024, createdAt: m.createdAt });
    const again = readOrCreateManifest(root, { codec: 'lz4', rowBlockSize: 1024 });
    expect(again.created).toBeUndefined();
    expect(again).toEqual(JSON.parse(text));
    const other = readOrCreateManifest(path.join(tempDir(), 'g'), { codec: 'gzip', rowBlockSize: 7 });
    expect(other).toMatchObject({ codec: 'gzip', rowBlockSize: 7 });
    expect(readOrCreateManifest(path.join(tempDir(), 'e'), { create: true }).created).toBe(true);
  });

  it('refuses what is not a store, another version, and options that differ from the store\'s', () => {
    const root = path.join(tempDir(), 's');
    readOrCreateManifest(root, { codec: 'gzip', rowBlockSize: 64 });
    const file = path.join(root, MANIFEST);
    const good = fs.readFileSync(file, 'utf8');
    expect(thrownError(() => readOrCreateManifest(root, { codec: 'arrow' }))).toBe(`BAD_OPTION: store ${root} was created with codec gzip; it cannot be opened as arrow (leave codec out, or use a new directory)`);
    expect(thrownError(() => readOrCreateManifest(root, { rowBlockSize: 128 }))).toBe(`BAD_OPTION: store ${root} was created with RowBlocks of 64 rows, not 128`);
    fs.writeFileSync(file, '{ not json');
    expect(thrownError(() => readOrCreateManifest(root, {}))).toBe(`NOT_A_STORE: ${file} is not valid JSON: the store's manifest is damaged`);
    fs.writeFileSync(file, good.replace('"mistique-store"', '"other-tool"'));
    expect(thrownError(() => readOrCreateManifest(root, {}))).toBe(`NOT_A_STORE: ${root} is not a mistique store (${MANIFEST} has format "other-tool")`);
    fs.writeFileSync(file, good.replace('"version": 1', '"version": 2'));
    expect(thrownError(() => readOrCreateManifest(root, {}))).toBe(`NOT_A_STORE: ${root} is a mistique store of version 2; this mistique reads version 1`);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'f'), 'x');
    expect(thrownError(() => readOrCreateManifest(path.join(dir, 'f'), {}))).toBe(`NOT_A_STORE: ${path.join(dir, 'f')} is a file, not a store directory`);
    expect(thrownError(() => readOrCreateManifest(dir, {}))).toBe(`NOT_A_STORE: ${dir} is not empty and is not a mistique store (no ${MANIFEST}): choose an empty or new directory`);
    expect(thrownError(() => readOrCreateManifest(path.join(dir, 'new'), { create: false }))).toBe(`NOT_A_STORE: ${path.join(dir, 'new')} is not a mistique store: create one with openStore() or \`mistique log\``);
    expect(thrownError(() => readOrCreateManifest(path.join(dir, 'new'), { codec: 'zip' as never }))).toBe('BAD_OPTION: unknown codec "zip": choose one of gzip, lz4, arrow, parquet');
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
    // an empty directory becomes a store
    const empty = tempDir();
    expect(readOrCreateManifest(empty, {}).created).toBe(true);
  });

  it('positive integers and fractions in (0, 1], each refusal naming the option and the value', () => {
    for (const v of [1, 2, 2 ** 40]) expect(positive('x', v)).toBe(v);
    for (const v of [0, -1, 1.5, NaN, Infinity]) expect(thrownError(() => positive('rowBlockSize', v))).toBe(`BAD_OPTION: rowBlockSize must be a positive integer, got ${v}`);
    for (const v of [1, 0.5, 1e-9]) expect(fraction('x', v)).toBe(v);
    for (const v of [0, -0.5, 1.0000001, NaN, '0.5' as never]) expect(thrownError(() => fraction('similarityThreshold', v))).toBe(`BAD_OPTION: similarityThreshold must be a number in (0, 1], got ${v}`);
    expect(DEFAULT_SEGMENT_BYTES).toEqual({ gzip: 65536, lz4: 65536, arrow: 524288, parquet: 131072 });
  });

  it('open options: defaults, and the DataStore options per codec and policy', () => {
    const s = checkStoreOptions({});
    expect(s).toMatchObject({ policy: undefined, gammaMin: undefined, lockTimeoutMs: 0, flushMs: 30_000, durable: false });
    const MB = 1024 * 1024;
    expect(s.dataStore('gzip', 'adaptive')).toEqual({ policy: 'dedup', bufferpoolBytes: 256 * MB, partitionBytes: 16 * MB, segmentBytes: 64 * 1024, similarityThreshold: 0.5, flushBytes: 64 * MB });
    expect(s.dataStore('arrow', 'store_all')).toMatchObject({ policy: 'store_all', segmentBytes: MB / 2 });
    // a partition is half the bufferpool at most; a segment size given is every codec's
    const t = checkStoreOptions({ bufferpoolBytes: 10 * MB, partitionBytes: 8 * MB, segmentBytes: 4096, policy: 'adaptive', gammaMin: 0, lockTimeoutMs: 5, durable: true, flushMs: 9, similarityThreshold: 1, flushBytes: 3 });
    expect(t).toMatchObject({ policy: 'adaptive', gammaMin: 0, lockTimeoutMs: 5, flushMs: 9, durable: true });
    expect(t.dataStore('parquet', 'dedup')).toEqual({ policy: 'dedup', bufferpoolBytes: 10 * MB, partitionBytes: 5 * MB, segmentBytes: 4096, similarityThreshold: 1, flushBytes: 3 });
    expect(checkStoreOptions({ bufferpoolBytes: 1 }).dataStore('lz4', 'dedup').partitionBytes).toBe(1);
    expect(checkStoreOptions({ bufferpoolBytes: 3 }).dataStore('lz4', 'dedup').partitionBytes).toBe(1);
    for (const level of [0, 9]) expect(() => checkStoreOptions({ gzipLevel: level })).not.toThrow();
    for (const level of [-1, 10, 2.5]) expect(thrownError(() => checkStoreOptions({ gzipLevel: level }))).toBe(`BAD_OPTION: gzipLevel must be an integer from 0 to 9, got ${level}`);
    expect(() => checkStoreOptions({ lockTimeoutMs: 0, gammaMin: 0 })).not.toThrow();
    expect(thrownError(() => checkStoreOptions({ lockTimeoutMs: -1 }))).toBe('BAD_OPTION: lockTimeoutMs must be a number ≥ 0, got -1');
    expect(thrownError(() => checkStoreOptions({ gammaMin: '5' as never }))).toBe('BAD_OPTION: gammaMin must be a number ≥ 0 (seconds saved per GB stored), got 5');
    for (const policy of ['store_all', 'dedup', 'adaptive'] as const) expect(checkStoreOptions({ policy }).policy).toBe(policy);
    for (const c of ['snappy', 'zstd', 'lz4', 'gzip', 'none'] as const) expect(() => checkStoreOptions({ parquetCompression: c })).not.toThrow();
  });
});
