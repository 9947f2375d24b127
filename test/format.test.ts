// docs/FORMAT.md's versioning: a store records its layout version (mistique.json) and its MetadataDB
// schema version (PRAGMA user_version); a store of another version is one clear error naming both.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { SCHEMA_VERSION } from '../src/metadata/schema.js';
import { tempStore } from './helpers.js';

describe('store format versions', () => {
  it('a store of another layout or a newer schema is refused with both versions named, and left as it was', async () => {
    const store = await tempStore();
    await store.log('a.b.c', { x: Float64Array.from([1, 2, 3]) });
    await store.close();
    const manifest = path.join(store.dir, 'mistique.json');
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: number };
    expect(m.version).toBe(1);
    fs.writeFileSync(manifest, JSON.stringify({ ...m, version: 2 }));
    await expect(openStore(store.dir)).rejects.toMatchObject({ code: 'NOT_A_STORE', message: expect.stringMatching(/store of version 2; this mistique reads version 1/) });
    fs.writeFileSync(manifest, JSON.stringify(m));
    const db = new Database(path.join(store.dir, 'metadata.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await expect(openStore(store.dir)).rejects.toMatchObject({ code: 'NOT_A_STORE', message: expect.stringMatching(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this mistique \\(${SCHEMA_VERSION}\\): upgrade mistique`)) });
    const again = new Database(path.join(store.dir, 'metadata.db'));
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1); // not migrated, not rewritten
    again.pragma(`user_version = ${SCHEMA_VERSION}`);
    again.close();
    const back = await openStore(store.dir);
    expect(Array.from((await back.getIntermediates('a.b.c.x')).values)).toEqual([1, 2, 3]);
    await back.close();
  });
});
