// Keys `project.model.intermediate.column`, safe names, and `*` globs over them.
import { MistiqueError } from '../errors.js';

export interface KeyPattern {
  project: string;
  model: string;
  intermediate: string;
  /** Everything after the third dot: column names may themselves contain dots. */
  column: string;
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;
const GLOB_NAME_RE = /^[A-Za-z0-9_*?-]{1,128}$/;

/** Project, model and intermediate names never become paths, but are kept path-safe anyway. */
export function checkName(kind: string, name: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new MistiqueError(
      'BAD_NAME',
      `${kind} name ${JSON.stringify(name)} is not allowed: use 1–128 letters, digits, '_' or '-' ` +
        `(no dots, slashes, '..', spaces or NUL), not starting with '-'`,
    );
  }
  return name;
}

export function checkColumnName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof name !== 'string' || name.length === 0 || name.length > 512 || /[\u0000-\u001f*?]/.test(name)) {
    throw new MistiqueError(
      'BAD_NAME',
      `column name ${JSON.stringify(name)} is not allowed: use 1–512 printable characters without '*', '?' or control characters`,
    );
  }
  return name;
}

export function parseKey(key: string): KeyPattern {
  if (typeof key !== 'string') throw new MistiqueError('BAD_KEY', `a key must be a string, got ${typeof key}`);
  const parts = key.split('.');
  // fewer than four parts leave the column empty; a column of dots ('a.b.c..') is a column all the same
  // Stryker disable next-line StringLiteral: joined with '' the column is empty exactly when joined with '.'
  if (parts.slice(0, 3).some((p) => p.length === 0) || parts.slice(3).join('.').length === 0) {
    throw new MistiqueError(
      'BAD_KEY',
      `key ${JSON.stringify(key)} is malformed: write project.model.intermediate.column, with '*' for any part (e.g. zillow.P1.join.* or fmnist.*.conv1.*)${
        parts.length === 3 && parts.every((p) => p.length > 0) ? `; every column of ${key} is ${key}.*` : ''}`,
    );
  }
  const [project, model, intermediate] = parts as [string, string, string];
  for (const [kind, v] of [['project', project], ['model', model], ['intermediate', intermediate]] as const) {
    if (!GLOB_NAME_RE.test(v)) {
      throw new MistiqueError('BAD_KEY', `key ${JSON.stringify(key)}: the ${kind} part ${JSON.stringify(v)} has characters no name can have (letters, digits, '_', '-', and '*' or '?' as wildcards)`);
    }
  }
  return { project, model, intermediate, column: parts.slice(3).join('.') };
}

/** Parses the `project.model.intermediate` key used when logging (no wildcards). */
export function parseIntermediateKey(key: string): { project: string; model: string; intermediate: string } {
  const parts = String(key).split('.'); // not a string: one part, refused below
  if (parts.length !== 3) {
    throw new MistiqueError('BAD_KEY', `log key ${JSON.stringify(key)} must be project.model.intermediate (three names separated by dots)`);
  }
  return {
    project: checkName('project', parts[0]!),
    model: checkName('model', parts[1]!),
    intermediate: checkName('intermediate', parts[2]!),
  };
}

/** Parses the `project.model` key a network (or a pipeline's model) is logged under (no wildcards). */
export function parseModelKey(key: string): { project: string; model: string } {
  const parts = String(key).split('.');
  if (parts.length !== 2) throw new MistiqueError('BAD_KEY', `a network is logged under project.model (e.g. fmnist.cnn_e03), got ${JSON.stringify(key)}`);
  return { project: checkName('project', parts[0]!), model: checkName('model', parts[1]!) };
}

export function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/** Compiles a `*`/`?` glob to an anchored RegExp; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(re + '$', 's');
}
