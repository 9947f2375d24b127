// The key grammar (src/model/key.ts): project.model.intermediate.column, names that stay path-safe, and
// globs where only * and ? are special. Examples at every boundary, and properties over generated names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from './helpers.js';
import { checkColumnName, checkName, globToRegExp, hasWildcard, parseIntermediateKey, parseKey } from '../src/model/key.js';


const NAME_CHARS = 'abcXYZ019_-';
const name = fc.tuple(fc.constantFrom(...'abcXYZ019_'), fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength: 20 })).map(([h, t]) => h + t);

describe('key grammar', () => {
  it('names: 1–128 of letters, digits, _ and -, not starting with -', () => {
    for (const ok of ['a', 'Z', '0', '_', '_x', 'a-b', 'A9_z-', 'x'.repeat(128), '9lives']) expect(checkName('model', ok), ok).toBe(ok);
    for (const bad of ['', '-a', 'a.b', 'a/b', '..', '.', 'a b', 'a\u0000', 'é', 'a*', 'a?', 'x'.repeat(129), ' a', 'a\n']) expect(thrownCode(() => checkName('model', bad)), JSON.stringify(bad)).toBe('BAD_NAME');
    expect(thrownCode(() => checkName('model', 7 as unknown as string))).toBe('BAD_NAME');
    expect(() => checkName('project', 'a.b')).toThrow(/project name "a\.b" is not allowed: use 1–128 letters, digits, '_' or '-' \(no dots, slashes, '\.\.', spaces or NUL\), not starting with '-'/);
  });

  it('column names: 1–512 printable characters, dots and spaces allowed, no * ? or control characters', () => {
    for (const ok of ['x', 'a.b', 'with space', ' ', '0_1_2', 'é', '~', 'x'.repeat(512), '\u007f']) expect(checkColumnName(ok), JSON.stringify(ok)).toBe(ok);
    for (const bad of ['', 'x'.repeat(513), 'a*', '?', 'a\nb', '\u0000', '\u001f', 'tab\there']) expect(thrownCode(() => checkColumnName(bad)), JSON.stringify(bad)).toBe('BAD_NAME');
    expect(thrownCode(() => checkColumnName(undefined as unknown as string))).toBe('BAD_NAME');
    expect(() => checkColumnName('a*')).toThrow(/column name "a\*" is not allowed: use 1–512 printable characters without '\*', '\?' or control characters/);
  });

  it('a query key has four parts or more; the column is everything after the third dot', () => {
    expect(parseKey('p.m.i.c')).toEqual({ project: 'p', model: 'm', intermediate: 'i', column: 'c' });
    expect(parseKey('p.m.i.c.d.e')).toEqual({ project: 'p', model: 'm', intermediate: 'i', column: 'c.d.e' });
    // empty pieces after the third dot are part of the column, not missing parts
    expect(parseKey('p.m.i.c..d')).toEqual({ project: 'p', model: 'm', intermediate: 'i', column: 'c..d' });
    expect(parseKey('p.m.i..')).toEqual({ project: 'p', model: 'm', intermediate: 'i', column: '.' });
    expect(parseKey('z*.P?_1.*.*')).toEqual({ project: 'z*', model: 'P?_1', intermediate: '*', column: '*' });
    expect(parseKey('a-b.c_d.e-f.g h')).toEqual({ project: 'a-b', model: 'c_d', intermediate: 'e-f', column: 'g h' });
    for (const bad of ['p.m.i', 'p.m', '', 'p', '.m.i.c', 'p..i.c', 'p.m..c', 'p.m.i.', 'p/x.m.i.c', 'p.m.i j.c', 'p.m é.i.c', `${'x'.repeat(129)}.m.i.c`]) {
      expect(thrownCode(() => parseKey(bad)), JSON.stringify(bad)).toBe('BAD_KEY');
    }
    expect(thrownCode(() => parseKey(null as unknown as string))).toBe('BAD_KEY');
    expect(() => parseKey(null as unknown as string)).toThrow(/a key must be a string, got object/);
    // an empty part is malformed (not a name with bad characters)
    for (const bad of ['.m.i.c', 'p..i.c', 'p.m..c', 'p.m.i.', 'p.m.i']) expect(() => parseKey(bad), bad).toThrow(/is malformed: write project\.model\.intermediate\.column/);
    expect(() => parseKey('p.m.i')).toThrow(/; every column of p\.m\.i is p\.m\.i\.\*$/);
    expect(() => parseKey('p.m.i.')).not.toThrow(/every column of/);
    expect(() => parseKey('p.m.i')).toThrow(/project\.model\.intermediate\.column/);
    expect(() => parseKey('p.m/x.i.c')).toThrow(/the model part "m\/x"/);
    expect(parseKey(`${'x'.repeat(128)}.m.i.c`).project).toHaveLength(128);
  });

  it('a log key is exactly three names, each checked', () => {
    expect(parseIntermediateKey('p.m.i')).toEqual({ project: 'p', model: 'm', intermediate: 'i' });
    for (const bad of ['p.m', 'p.m.i.c', '', 'p']) expect(thrownCode(() => parseIntermediateKey(bad)), bad).toBe('BAD_KEY');
    for (const bad of ['p.m.-i', 'p.*.i', 'p..i', '-p.m.i']) expect(thrownCode(() => parseIntermediateKey(bad)), bad).not.toBeNull();
    expect(thrownCode(() => parseIntermediateKey('p.m.-i'))).toBe('BAD_NAME');
    expect(() => parseIntermediateKey('p.m.-i')).toThrow(/^intermediate name "-i"/);
    expect(() => parseIntermediateKey('p.-m.i')).toThrow(/^model name "-m"/);
    expect(() => parseIntermediateKey('-p.m.i')).toThrow(/^project name "-p"/);
    expect(() => parseIntermediateKey('p.m')).toThrow(/^log key "p\.m" must be project\.model\.intermediate/);
    expect(() => parseIntermediateKey(3 as unknown as string)).toThrow(/^log key 3 must be/);
    expect(thrownCode(() => parseIntermediateKey(3 as unknown as string))).toBe('BAD_KEY');
  });

  it('globs: * any run (dots and newlines too), ? one character, anchored, everything else literal', () => {
    expect(hasWildcard('a*')).toBe(true); expect(hasWildcard('a?')).toBe(true); expect(hasWildcard('a.b')).toBe(false);
    const m = (g: string, s: string) => globToRegExp(g).test(s);
    expect(m('a.b', 'a.b')).toBe(true); expect(m('a.b', 'axb')).toBe(false);
    expect(m('*', '')).toBe(true); expect(m('*', 'x.y\nz')).toBe(true);
    expect(m('a*', 'a.b.c')).toBe(true); expect(m('a*', 'ba')).toBe(false);
    expect(m('?', 'x')).toBe(true); expect(m('?', '')).toBe(false); expect(m('?', 'xy')).toBe(false); expect(m('?', '\n')).toBe(true);
    expect(m('ab', 'xab')).toBe(false); expect(m('ab', 'abx')).toBe(false);
    for (const lit of ['a+b', '(x)', 'a$', '^a', 'a|b', '[ab]', 'a{2}', 'a\\b', 'a/b', 'a.b']) {
      expect(m(lit, lit), lit).toBe(true);
    }
    expect(m('a+b', 'aab')).toBe(false); expect(m('[ab]', 'a')).toBe(false); expect(m('a|b', 'a')).toBe(false); expect(m('a{2}', 'aa')).toBe(false); expect(m('a\\b', 'a\\\\b')).toBe(false);
  });

  it('properties: a name and a key round-trip; a literal glob matches itself only; * matches any insertion', () => {
    fc.assert(fc.property(name, (n) => checkName('x', n.slice(0, 128)) === n.slice(0, 128)));
    fc.assert(fc.property(name, name, name, fc.string({ minLength: 1, maxLength: 30 }).filter((c) => !/[\u0000-\u001f]/.test(c)), (p, mo, i, c) => {
      const k = parseKey(`${p}.${mo}.${i}.${c}`);
      return k.project === p && k.model === mo && k.intermediate === i && k.column === c;
    }));
    fc.assert(fc.property(fc.string({ maxLength: 20 }).filter((s) => !hasWildcard(s)), fc.string({ maxLength: 5 }), (s, extra) => {
      const re = globToRegExp(s);
      return re.test(s) && (extra === '' || (!re.test(s + extra) && !re.test(extra + s)));
    }));
    fc.assert(fc.property(fc.string({ maxLength: 10 }).filter((s) => !hasWildcard(s)), fc.string({ maxLength: 10 }).filter((s) => !hasWildcard(s)), fc.string({ maxLength: 10 }), (a, b, mid) =>
      globToRegExp(`${a}*${b}`).test(a + mid + b)));
  });
});
