// Resolves key patterns to intermediates and column indices, using the MetadataDB.
import { LRUCache } from 'lru-cache';
import { MistiqueError } from '../errors.js';
import { type FrameSchema, schemaColumnName } from '../model/dataframe.js';
import { globToRegExp, hasWildcard, parseIntermediateKey, parseKey } from '../model/key.js';
import type { ColumnType } from '../model/types.js';
import type { IntermediateRow, MetadataDB } from '../metadata/metadatadb.js';

export interface Selection {
  intermediate: IntermediateRow;
  schema: FrameSchema;
  /** Column indices, in the order the keys asked for them. */
  cols: number[];
  /** cols is every column in stored order (0, 1, …, n − 1): readers take the whole intermediate without walking cols. */
  all?: boolean;
}

/** The selection's intermediate as `project.model.intermediate`. */
export function keyOf(sel: Selection): string {
  return `${sel.intermediate.project}.${sel.intermediate.model}.${sel.intermediate.name}`;
}

/** 0 … n − 1, frozen and shared: a wide layer's "every column" is built once, not per query. */
// Stryker disable next-line ObjectLiteral: a module-level cache, built before any mutant is switched on
const allColumns = new LRUCache<number, number[]>({ max: 32 });
function everyColumn(n: number): number[] {
  let cols = allColumns.get(n);
  // Stryker disable next-line ConditionalExpression,ArrayDeclaration: building it again, or growing it as it fills, gives the same columns
  if (!cols) {
    cols = new Array<number>(n);
    for (let j = 0; j < n; j++) cols[j] = j;
    Object.freeze(cols);
    allColumns.set(n, cols);
  }
  return cols;
}

export function schemaOf(db: MetadataDB, row: IntermediateRow): FrameSchema {
  const cols = db.columns(row.id);
  const shape = row.shape ? (JSON.parse(row.shape) as number[]) : null;
  // rows are checksummed one by one; a row lost whole (a damaged index page) shows here, as a gap
  const described = cols.reduce((a, c, i) => (c.idx === i ? a + c.count : NaN), 0);
  if (described !== row.n_cols) {
    throw new MistiqueError('CORRUPT', `the metadata database is damaged: ${row.project}.${row.model}.${row.name} has ${row.n_cols} columns but its column rows describe ${Number.isNaN(described) ? 'them with a gap' : described}; run \`mistique verify\``);
  }
  if (cols.length === 1 && cols[0]!.name === null) return { names: null, types: [cols[0]!.type], shape };
  return { names: cols.map((c) => c.name!), types: cols.map((c) => c.type as ColumnType), shape };
}

export function resolveKeys(db: MetadataDB, keys: readonly string[]): Selection[] {
  if (!Array.isArray(keys) || keys.length === 0) throw new MistiqueError('BAD_KEY', 'give at least one key such as project.model.intermediate.column');
  let all: IntermediateRow[] | undefined;
  const out = new Map<number, Selection>();
  const seen = new Map<number, Uint8Array>();
  for (const key of keys) {
    const k = parseKey(key);
    let hits: IntermediateRow[];
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: the pass over every intermediate finds the same one, slower
    if (!hasWildcard(k.project) && !hasWildcard(k.model) && !hasWildcard(k.intermediate)) {
      // one intermediate by name: an index lookup, not a pass over every intermediate
      const row = intermediateNamed(db, k.project, k.model, k.intermediate);
      hits = row ? [row] : [];
    } else {
      const [rp, rm, ri] = [globToRegExp(k.project), globToRegExp(k.model), globToRegExp(k.intermediate)];
      hits = (all ??= db.intermediates()).filter((r) => rp.test(r.project) && rm.test(r.model) && ri.test(r.name));
    }
    let found = false;
    for (const row of hits) {
      let sel = out.get(row.id);
      if (!sel) {
        sel = { intermediate: row, schema: schemaOf(db, row), cols: [] };
        out.set(row.id, sel);
      }
      // Stryker disable next-line ConditionalExpression,StringLiteral,BlockStatement: the general path below selects the same columns, one by one
      if (k.column === '*' && sel.cols.length === 0) {
        // every column, the first ask of this intermediate: a shared array, and no later key adds to it
        sel.cols = everyColumn(row.n_cols);
        sel.all = true;
        found = true;
        continue;
      }
      if (sel.all) { if (matchColumns(sel.schema, row.n_cols, k.column).length > 0) found = true; continue; }
      let taken = seen.get(row.id);
      if (!taken) seen.set(row.id, (taken = new Uint8Array(row.n_cols)));
      for (const j of matchColumns(sel.schema, row.n_cols, k.column)) {
        found = true;
        if (!taken[j]) { taken[j] = 1; sel.cols.push(j); }
      }
    }
    if (!found) {
      const where = hits.length === 0 ? 'no intermediate matches it' : `no column of ${hits.map((h) => `${h.project}.${h.model}.${h.name}`).slice(0, 3).join(', ')} matches ${JSON.stringify(k.column)}`;
      const see = hits.length === 0 ? 'run `mistique ls` to see what is stored' : `run \`mistique ls ${hits.length === 1 ? `${hits[0]!.project}.${hits[0]!.model}.${hits[0]!.name}` : `'${k.project}.${k.model}.${k.intermediate}'`} --columns\` to see ${hits.length === 1 ? 'its' : 'their'} columns`;
      throw new MistiqueError('NOT_FOUND', `key ${JSON.stringify(key)} matches nothing: ${where}; ${see}`);
    }
  }
  return [...out.values()].filter((s) => s.cols.length > 0);
}

function matchColumns(schema: FrameSchema, n: number, pattern: string): number[] {
  // Stryker disable next-line ConditionalExpression,StringLiteral,BlockStatement: '*' as a glob matches every name as well
  if (pattern === '*') return Array.from({ length: n }, (_, j) => j);
  // Stryker disable next-line ConditionalExpression,BlockStatement: a name without wildcards, as a glob, matches itself alone
  if (!hasWildcard(pattern)) {
    if (schema.names) {
      const j = schema.names.indexOf(pattern);
      return j >= 0 ? [j] : [];
    }
    const j = tensorIndex(schema.shape!, pattern);
    return j === null ? [] : [j];
  }
  const re = globToRegExp(pattern);
  const out: number[] = [];
  for (let j = 0; j < n; j++) if (re.test(schemaColumnName(schema, j))) out.push(j);
  return out;
}

/** A tensor column's flat index from its name, "i_j_…" in the shape's bounds, written as stored names are (no sign, no leading zero, nothing empty). */
function tensorIndex(shape: number[], name: string): number | null {
  const digits = name.split('_');
  if (digits.length !== shape.length || digits.some((d) => !/^(?:0|[1-9]\d*)$/.test(d))) return null;
  const parts = digits.map(Number);
  if (parts.some((p, i) => p >= shape[i]!)) return null;
  return parts.reduce((acc, p, i) => acc * shape[i]! + p, 0);
}

/** The intermediate of these three names that this handle sees, if any (an index lookup). */
function intermediateNamed(db: MetadataDB, project: string, model: string, name: string): IntermediateRow | undefined {
  const id = db.intermediateId(project, model, name);
  // Stryker disable next-line ConditionalExpression: db.intermediate(undefined) finds nothing as well
  return id === undefined ? undefined : db.intermediate(id);
}

/** The intermediate a `project.model.intermediate` key names, if it names one (a malformed key names none). */
export function findIntermediate(db: MetadataDB, key: string): IntermediateRow | undefined {
  const [project, model, ...rest] = key.split('.');
  return project && model && rest.length === 1 ? intermediateNamed(db, project, model, rest[0]!) : undefined;
}

/** One whole intermediate by its `project.model.intermediate` key (no wildcards): BAD_KEY if malformed, NOT_FOUND if not stored. */
export function intermediateByKey(db: MetadataDB, key: string): IntermediateRow {
  let parts;
  try {
    parts = parseIntermediateKey(key);
  } catch (e) {
    throw new MistiqueError('BAD_KEY', `${JSON.stringify(key)} is not an intermediate's key: write project.model.intermediate (three names separated by dots, e.g. zillow.P1_1.pred_test)`, { cause: e });
  }
  const row = intermediateNamed(db, parts.project, parts.model, parts.intermediate);
  if (!row) throw new MistiqueError('NOT_FOUND', `no intermediate ${key} in this store; \`mistique ls\` lists them`);
  return row;
}
