// SQL over a store with DuckDB in-process (#17): every intermediate is a relation named by its key, beside
// catalog relations of the MetadataDB. What a query reads is found in DuckDB's own parse of it: each
// intermediate it names is read through the planner (read or re-run, as any query) — only the rows its
// row_id conditions allow — and handed to DuckDB from memory (relation.ts: a tensor by a table function,
// a table through a temporary table). The store is never written; the views, tables and results go when
// the statement ends, the DuckDB instance (one per Store, in memory) when the store closes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Table, tableFromJSON } from 'apache-arrow';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { MistiqueError } from '../errors.js';
import type { Store } from '../mistique.js';
import type { IntermediateRow } from '../metadata/rows.js';
import { outputError } from '../export/writers.js';
import { Relations, uniqueNames } from './relation.js';
import { findIntermediate } from '../reader/resolve.js';
import { Matrix } from '../model/matrix.js';
import { columnsUsed, rowFilters, baseTables, type RowFilter } from './pushdown.js';

export { uniqueNames };

type Duck = typeof import('@duckdb/node-api');
type Instance = Awaited<ReturnType<Duck['DuckDBInstance']['create']>>;
type Connection = Awaited<ReturnType<Instance['connect']>>;

/** What a SQL query returned, and what it read. */
export interface SqlResult {
  /** The result as an Arrow table (lists of a tensor's values as Arrow lists). */
  table: Table;
  columns: string[];
  /**
   * Rows as plain objects (numbers, strings, arrays; a BIGINT beyond 2^53 as a bigint), keyed by `columns`:
   * every row, or the first `limit` (SqlOptions), or none when `each` took them.
   */
  rows: Record<string, unknown>[];
  /** How many rows the statement returned (rows.length unless `limit` or `each` was given). */
  count: number;
  /**
   * Per intermediate the query named: how many of its rows were read, whether a row_id filter narrowed
   * them, and — where the query names only some of a table's columns — how many columns were read.
   */
  reads: { key: string; rows: number; narrowed: boolean; columns?: number; ms: number }[];
  ms: number;
}

/** How a statement's answer is delivered (store.sql). */
export interface SqlOptions {
  /** Write the answer to this file (.parquet, .csv, .json) instead of returning it. */
  out?: string;
  /** Convert only the first `limit` rows to JavaScript (the rest are counted): what a terminal or a page shows. */
  limit?: number;
  /** Hand the rows over a few hundred at a time as DuckDB makes them, instead of returning them (a result larger than memory). */
  each?: (rows: Record<string, unknown>[], columns: readonly string[]) => void | Promise<void>;
}

/** The catalog relations every query can name. */
export const CATALOG = ['mistique_intermediates', 'mistique_models', 'mistique_projects', 'mistique_lineage'] as const;

/** What building the catalog creates, in order, and of which kind. */
const CATALOG_OBJECTS: readonly (readonly [string, 'TABLE' | 'VIEW'])[] = [
  ['mistique_intermediates', 'TABLE'], ['mistique_model_kinds', 'TABLE'], ['mistique_lineage', 'TABLE'], ['mistique_models', 'VIEW'], ['mistique_projects', 'VIEW'],
];

function duckError(err: unknown, query: string): MistiqueError {
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\nDid you mean[^\n]*/, '').replace(/^Failed to extract statements: /, '');
  const unknown = /Table with name ([^\s]+) does not exist/.exec(msg);
  if (unknown) return new MistiqueError('NOT_FOUND', `SQL names ${unknown[1]}, which is neither an intermediate nor a catalog relation (${CATALOG.join(', ')}); quote keys as "project.model.intermediate" — mistique ls lists them`, { cause: err });
  // the two slips a first query makes: a key unquoted (its dots read as catalog.schema.table), a layer indexed as a list
  const hint = /Catalog "[^"]+" does not exist/.test(msg) ? '; quote keys: FROM "project.model.intermediate"'
    : /struct_extract with an integer key/.test(msg) ? '; a tensor layer\'s values are its list column "values" ("values"[1] is the first, 1-based)' : '';
  return new MistiqueError('BAD_QUERY', `SQL failed: ${msg.split('\n')[0]}${hint}${query.length < 200 ? ` (in: ${query})` : ''}`, { cause: err });
}

/** Cells a piece of rows handed to `each` holds at most (a list counts its values): a few MB of JavaScript values. */
const EACH_CELLS = 250_000;

/** The row ids of an intermediate its filter lets through, from the RowBlock index — or null (read it whole). */
export function narrowRows(store: Store, r: IntermediateRow | undefined, f: RowFilter | undefined): number[] | null {
  // an intermediate not stored (or not all of it: policy adaptive re-runs it) has no RowBlocks to say
  // which row ids it holds — read whole; it had answered a row_id filter with no rows at all
  if (!f || !r) return null;
  const blocks = store.metadata.rowblocks(r.id);
  if (!storedWhole(blocks, r)) return null;
  const ids: number[] = [];
  for (const b of blocks) {
    // only RowBlocks whose row ids are the consecutive integers min…max are narrowed without reading them
    if (!b.sorted || b.max_row_id - b.min_row_id + 1 !== b.n_rows) return null;
    const lo = Math.max(f.lo, b.min_row_id), hi = Math.min(f.hi, b.max_row_id);
    if (f.ids) { for (const x of f.ids) if (x >= lo && x <= hi && Number.isInteger(x)) ids.push(x); } else for (let x = lo; x <= hi; x++) ids.push(x);
  }
  return ids.sort((a, b) => a - b);
}

/** Whether every row of an intermediate is stored (its RowBlocks hold all its rows): its row ids are in the RowBlock index. */
function storedWhole(blocks: readonly { n_rows: number }[], r: IntermediateRow): boolean {
  let n = 0;
  for (const b of blocks) n += b.n_rows;
  return n > 0 && n === r.n_rows;
}

/**
 * The columns of a table intermediate a query needs (those of its columns whose names it references; the
 * first when it references none, as count(*) does: the rows must be there) — or null: all of them (a
 * tensor's list of values, a query that may need every column, or every column named anyway).
 */
export function usedColumns(store: Store, r: IntermediateRow, used: ReadonlySet<string> | null): string[] | null {
  if (!used) return null;
  const cols = store.metadata.columns(r.id);
  if (cols.some((c) => c.name === null || c.name.includes('*'))) return null;
  const names = cols.map((c) => c.name!);
  // names DuckDB tells apart only once renamed (Price and price_1, a column row_id and row_id_1): all of them
  if (new Set(['row_id', ...names.map((n) => n.toLowerCase())]).size !== names.length + 1) return null;
  const want = names.filter((n) => used.has(n.toLowerCase()));
  if (want.length === names.length) return null;
  return want.length > 0 ? want : names.slice(0, 1);
}

async function catalog(store: Store, c: Connection, rows: readonly IntermediateRow[], stored: ReadonlyMap<string, number>): Promise<void> {
  const lit = (v: unknown): string => v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
  const values = rows.map((r) => {
    const key = `${r.project}.${r.model}.${r.name}`;
    return `(${[key, r.project, r.model, r.name, r.n_rows, r.n_cols, r.shape, r.scheme, r.policy, r.bytes_raw, stored.get(key) ?? 0, r.n_chunks, r.n_chunks_dedup, r.t_log_ms, r.n_query, r.t_query_ms, r.materialized !== 0].map((v) => typeof v === 'boolean' ? String(v) : lit(v)).join(', ')})`;
  });
  await c.run(`CREATE TEMP TABLE mistique_intermediates ("key" VARCHAR, project VARCHAR, model VARCHAR, name VARCHAR, n_rows BIGINT, n_cols BIGINT, shape VARCHAR, scheme VARCHAR, policy VARCHAR,
    bytes_raw BIGINT, bytes_stored BIGINT, n_chunks BIGINT, n_chunks_dedup BIGINT, t_log_ms DOUBLE, n_query BIGINT, t_query_ms DOUBLE, materialized BOOLEAN)`);
  if (values.length > 0) await c.run(`INSERT INTO mistique_intermediates VALUES ${values.join(',\n')}`);
  const kinds = rows.map((r) => [r.project, r.model] as const).filter((x, i, a) => a.findIndex((y) => y[0] === x[0] && y[1] === x[1]) === i)
    .map(([p, m]) => `(${lit(p)}, ${lit(m)}, ${lit(store.metadata.workflows.get(p, m)?.kind ?? null)})`);
  await c.run(`CREATE TEMP TABLE mistique_model_kinds (project VARCHAR, model VARCHAR, kind VARCHAR)`);
  if (kinds.length > 0) await c.run(`INSERT INTO mistique_model_kinds VALUES ${kinds.join(', ')}`);
  // lineage: what each stage (TRAD) or layer (DNN) is computed from — other intermediates by key, or
  // nothing (a source: a CSV read, a network's input)
  const lineage: string[] = [];
  for (const [p, m] of [...new Set(rows.map((r) => `${r.project}\u0000${r.model}`))].map((x) => x.split('\u0000') as [string, string])) {
    const wf = store.metadata.workflows.get(p, m);
    if (!wf) continue;
    for (const st of store.metadata.workflows.stages(wf.model_id)) {
      const inputs = JSON.parse(st.inputs) as string[];
      const keys = inputs.length ? inputs.map((i) => (i.includes('.') ? i : `${p}.${m}.${i}`)) : [null];
      for (const k of keys) lineage.push(`(${[p, m, st.name, `${p}.${m}.${st.name}`, st.op, k, wf.kind].map(lit).join(', ')})`);
    }
  }
  await c.run(`CREATE TEMP TABLE mistique_lineage (project VARCHAR, model VARCHAR, name VARCHAR, "key" VARCHAR, op VARCHAR, input VARCHAR, kind VARCHAR)`);
  for (let i = 0; i < lineage.length; i += 1000) await c.run(`INSERT INTO mistique_lineage VALUES ${lineage.slice(i, i + 1000).join(', ')}`);
  await c.run(`CREATE TEMP VIEW mistique_models AS SELECT i.project, i.model, k.kind, count(*) AS intermediates, sum(bytes_raw) AS bytes_raw, sum(bytes_stored) AS bytes_stored, sum(n_query) AS n_query
    FROM mistique_intermediates i LEFT JOIN mistique_model_kinds k USING (project, model) GROUP BY ALL ORDER BY ALL`);
  await c.run(`CREATE TEMP VIEW mistique_projects AS SELECT project, count(*) AS models, sum(intermediates) AS intermediates, sum(bytes_raw) AS bytes_raw, sum(bytes_stored) AS bytes_stored
    FROM mistique_models GROUP BY project ORDER BY project`);
}

/**
 * One DuckDB instance per Store, opened on its first query and kept (creating and closing one costs
 * ~12 ms a query), with a private temporary directory. Statements run one at a time: each creates the
 * views of the intermediates it names (and the catalog relations when it names them) and drops them
 * when it ends, so no statement sees another's data.
 */
export class SqlSession {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly instance: Instance, private readonly c: Connection, private readonly tmp: string, private readonly relations: Relations) {}

  /**
   * `sandbox`: statements may touch no file but the session's own scratch files (DuckDB's
   * allowed_directories with external access off, the configuration locked) — for statements from
   * someone else, as `mistique serve` runs them: `read_csv('/etc/passwd')` is refused.
   */
  static async open(opts: { sandbox?: boolean } = {}): Promise<SqlSession> {
    const duck: Duck = await import('@duckdb/node-api');
    const instance = await duck.DuckDBInstance.create(':memory:', { threads: String(Math.max(1, os.availableParallelism())) });
    const c = await instance.connect();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mistique-sql-'));
    if (opts.sandbox) {
      await c.run(`SET allowed_directories = ['${(tmp + path.sep).replace(/'/g, "''")}']`);
      await c.run('SET enable_external_access = false');
      await c.run('SET lock_configuration = true');
    }
    const relations = new Relations(duck);
    relations.register(c);
    return new SqlSession(instance, c, tmp, relations);
  }

  /** Runs one SQL statement over the store (see the module comment), after those already asked. */
  run(store: Store, query: string, opts: SqlOptions = {}): Promise<SqlResult> {
    const p = this.queue.then(() => this.runOne(store, query, opts));
    this.queue = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.c.closeSync();
    this.instance.closeSync();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  private async runOne(store: Store, query: string, opts: SqlOptions): Promise<SqlResult> {
    const t0 = performance.now();
    if (typeof query !== 'string' || query.trim() === '') throw new MistiqueError('BAD_QUERY', 'give a SQL query, e.g. SELECT * FROM mistique_intermediates');
    if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 0)) throw new MistiqueError('BAD_OPTION', `limit must be a whole number ≥ 0, got ${opts.limit}`);
    const c = this.c;
    const created: (readonly [string, 'TABLE' | 'VIEW'])[] = [];
    const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;
    try {
      // EXPLAIN [ANALYZE] names the intermediates of the statement it explains (json_serialize_sql parses SELECTs only)
      const explained = /^\s*explain(\s+analyze)?\s+/i.exec(query);
      const select = explained ? query.slice(explained[0].length) : query;
      const parsed = JSON.parse((await c.runAndReadAll(`SELECT json_serialize_sql(${`'${select.replace(/'/g, "''")}'`}) AS j`)).getRowObjectsJS()[0]!.j as string) as { error: boolean; error_message?: string; statements?: Record<string, unknown>[] };
      if (parsed.error) {
        // json_serialize_sql parses SELECT statements only: a write is refused, a syntax error is DuckDB's
        // parser's, and anything else must be a reading statement before DuckDB may say what is wrong with
        // it (the session outlives the statement, so nothing may change it)
        const readOnly = new MistiqueError('BAD_QUERY', `SQL over a store is read-only: give one SELECT (or WITH … SELECT, DESCRIBE, SUMMARIZE) statement`);
        // (what EXPLAIN ANALYZE explains, it runs: `EXPLAIN ANALYZE COPY … TO` writes the file)
        if (/^\s*(insert|update|delete|create|drop|alter|copy|attach|detach|install|load|set|reset|pragma|call|export|import|checkpoint|vacuum|use|begin|commit|rollback|prepare|execute)\b/i.test(select)) throw readOnly;
        if (/^\s*with\b[^]*\)\s*(insert|update|delete|merge)\b/i.test(select)) throw readOnly; // a write behind its WITH
        await c.extractStatements(query).catch((e: unknown) => { throw duckError(e, query); });
        if (!/^\s*(\(|select\b|with\b|from\b|values\b|table\b|describe\b|summarize\b|show\b|pivot\b|unpivot\b)/i.test(select)) throw readOnly;
      }
      const stmts = parsed.statements ?? [];
      if (stmts.length > 1) throw new MistiqueError('BAD_QUERY', `give one SQL statement at a time (got ${stmts.length})`);
      // the catalog relations only when the statement names one: their stored bytes scan every chunk's
      // registration (half a second on a store of 50 pipelines), and listing every intermediate takes
      // ~10 ms there — a statement naming only intermediates looks each up by its key
      if (stmts.length === 0 || CATALOG.some((n) => query.toLowerCase().includes(n))) {
        const items = store.metadata.intermediates();
        const stored = store.metadata.storedBytesByIntermediate();
        created.push(...CATALOG_OBJECTS);
        await catalog(store, c, items, new Map(items.map((r) => [`${r.project}.${r.model}.${r.name}`, stored.get(r.id) ?? 0])));
      }
      const named = stmts.length ? [...new Set(baseTables(stmts[0]!).names)] : [];
      const filters = stmts.length ? rowFilters(stmts[0]!) : new Map<string, RowFilter>();
      const relations = named.flatMap((key) => {
        const row = findIntermediate(store.metadata, key);
        return row ? [{ key, row }] : [];
      });
      // every relation's rows are read at once (decoding on the worker threads) while the ones read are written
      const t = performance.now();
      const used = stmts.length ? columnsUsed(stmts[0]!) : null;
      const served: string[] = [];
      // all settled before a failure is thrown: a relation still being handed over must not outlive the statement
      const settled = await Promise.allSettled(relations.map(async ({ key, row }, i): Promise<SqlResult['reads'][number]> => {
        const ids = narrowRows(store, row, filters.get(key));
        const cols = usedColumns(store, row, used);
        if (used && !used.has('values') && row.shape !== null && storedWhole(store.metadata.rowblocks(row.id), row)) {
          // a stored tensor whose values the statement never names (count(*), row_id alone): its row ids,
          // from the RowBlock index, without reading a chunk (2.6 s → ms for count(*) of a 400 MB layer)
          const rowIds = ids ? Int32Array.from(ids) : await store.rowIds(`${key}.*`);
          served[i] = await this.relations.add(c, new Matrix(rowIds, [], new Float64Array(0)));
          return { key, rows: rowIds.length, narrowed: ids !== null, columns: 0, ms: performance.now() - t };
        }
        // row_id and named columns, or row_id and `values` (a list) for a tensor
        const m = await store.getIntermediates(cols ? cols.map((c) => `${key}.${c}`) : `${key}.*`, ids ? { rows: ids } : {});
        served[i] = await this.relations.add(c, m);
        return { key, rows: m.nrows, narrowed: ids !== null, ...(cols ? { columns: cols.length } : {}), ms: performance.now() - t };
      }));
      const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      if (failed) throw failed.reason;
      const reads = settled.map((x) => (x as PromiseFulfilledResult<SqlResult['reads'][number]>).value);
      const view = async (key: string, from: string): Promise<void> => {
        created.push([key, 'VIEW']);
        await c.run(`CREATE OR REPLACE TEMP VIEW ${quoted(key)} AS SELECT * FROM ${from}`);
      };
      for (const [i, { key }] of relations.entries()) await view(key, served[i]!);
      if (parsed.error) {
        // a statement DuckDB's parse tree does not hold (PIVOT, SHOW, …) names its intermediates through
        // the binder: each table it says does not exist and is an intermediate is read whole and viewed,
        // and the statement prepared again. Prepared, never run here: the kind of statement is checked —
        // `WITH x AS (…) INSERT …` passes the prefixes above
        const { StatementType } = await import('@duckdb/node-api');
        for (;;) {
          const prepared = await (await c.extractStatements(select)).prepare(0).catch((e: unknown) => e as Error);
          if (!(prepared instanceof Error)) {
            const kind = prepared.statementType;
            prepared.destroySync();
            if (kind !== StatementType.SELECT && kind !== StatementType.EXPLAIN && !(kind === StatementType.CREATE && /^\s*(pivot|unpivot)\b/i.test(select))) {
              throw new MistiqueError('BAD_QUERY', `SQL over a store is read-only: give one SELECT (or WITH … SELECT, DESCRIBE, SUMMARIZE) statement`);
            }
            break;
          }
          const key = /Table with name ([^\s]+) does not exist/.exec(prepared.message)?.[1];
          const row = key !== undefined && !created.some(([n]) => n === key) ? findIntermediate(store.metadata, key) : undefined;
          if (!row) throw duckError(prepared, query);
          const m = await store.getIntermediates(`${key}.*`);
          reads.push({ key: key!, rows: m.nrows, narrowed: false, ms: performance.now() - t });
          await view(key!, await this.relations.add(c, m));
        }
      }
      if (opts.out) {
        const ext = path.extname(opts.out).slice(1).toLowerCase();
        const format = ext === 'parquet' ? 'parquet' : ext === 'csv' ? 'csv' : ext === 'json' || ext === 'ndjson' ? 'json' : null;
        if (!format) throw new MistiqueError('BAD_OPTION', `cannot write ${opts.out}: name it .parquet, .csv or .json`);
        const part = `${opts.out}.${process.pid}.tmp`;
        try { fs.mkdirSync(path.dirname(opts.out), { recursive: true }); } catch (err) { throw outputError(opts.out, err); }
        await c.run(`COPY (${query.replace(/;\s*$/, '')}) TO '${part.replace(/'/g, "''")}' (FORMAT ${format}${format === 'csv' ? ', HEADER' : ''})`).catch((e: unknown) => { throw duckError(e, query); });
        fs.renameSync(part, opts.out);
        return { table: new Table(), columns: [], rows: [], count: 0, reads, ms: performance.now() - t0 };
      }
      const { columns, rows, count } = await answer(c, query, opts);
      const ms = performance.now() - t0;
      // the Arrow form is built when asked for (half the time of a 20 000-row answer)
      let table: Table | null = null;
      return {
        get table() { return (table ??= rows.length ? tableFromJSON(rows as Record<string, never>[]) : new Table()); },
        columns, rows, count, reads, ms,
      };
    } finally {
      // views first: the catalog's views depend on its tables
      for (const [name, kind] of created.reverse()) await c.run(`DROP ${kind} IF EXISTS ${quoted(name)}`).catch(() => undefined);
      await this.relations.clear(c);
    }
  }
}

/**
 * Runs a statement and takes its answer chunk by chunk as DuckDB makes it (2 048 rows), converting to
 * JavaScript only the rows asked for: all of them, the first `limit` (the rest are counted), or each piece
 * handed to `each` and let go. Converting every row had cost 20 s and 5 GB to show 20 rows of a 400 MB layer.
 */
async function answer(c: Connection, query: string, opts: SqlOptions): Promise<{ columns: string[]; rows: Record<string, unknown>[]; count: number }> {
  const { JSDuckDBValueConverter } = await import('@duckdb/node-api');
  const result = await c.stream(query).catch((e: unknown) => { throw duckError(e, query); });
  const columns = uniqueNames(result.columnNames());
  const rows: Record<string, unknown>[] = [];
  const limit = opts.each ? Infinity : opts.limit ?? Infinity;
  let count = 0;
  const rowOf = (chunk: DuckDBDataChunk, i: number): { row: Record<string, unknown>; cells: number } => {
    const row: Record<string, unknown> = {};
    let cells = 0;
    chunk.visitRowValues(i, (value, _, j, type) => {
      let v = JSDuckDBValueConverter(value, type, JSDuckDBValueConverter);
      // BIGINT (counts, sums) as numbers where exact, as bigints beyond 2^53
      if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) v = Number(v);
      row[columns[j]!] = v;
      cells += Array.isArray(v) ? v.length : 1;
    });
    return { row, cells };
  };
  for (;;) {
    const chunk = await result.fetchChunk().catch((e: unknown) => { throw duckError(e, query); });
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    if (opts.each) {
      let piece: Record<string, unknown>[] = [], cells = 0;
      for (let i = 0; i < n; i++) {
        const r = rowOf(chunk, i);
        piece.push(r.row);
        cells += r.cells;
        if (cells >= EACH_CELLS) { await opts.each(piece, columns); piece = []; cells = 0; }
      }
      if (piece.length > 0) await opts.each(piece, columns);
    } else for (let i = 0; i < n && count + i < limit; i++) rows.push(rowOf(chunk, i).row);
    count += n;
  }
  return { columns, rows, count };
}
