import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

describe('public API', () => {
  it('exports exactly these names', () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "DataFrame",
        "Matrix",
        "MistiqueError",
        "Store",
        "costmodel",
        "diagnostics",
        "openStore",
        "unshared",
      ]
    `);
  });
});
