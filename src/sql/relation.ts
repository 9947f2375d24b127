// An intermediate as a DuckDB relation, handed over from memory: row ids and plain numbers copied into
// DuckDB's vectors by memcpy, text one string at a time. A tensor (row_id and `values`, a LIST of its
// floats) is served by a table function (`mistique_relation(id)`) whose every call fills one output chunk
// straight from the result the planner read; a table of columns is appended to a temporary table (each
// table-function call crosses from DuckDB's thread to the event loop and back, which costs a narrow
// table more than the copy). It replaced an uncompressed Parquet file per intermediate per statement:
// `SELECT *` over a 400 MB layer spent 4–6 s writing that file and DuckDB 3 s reading it back. Reading
// is asynchronous and happens before the statement runs; table functions are called synchronously.
import duckdb from '@duckdb/node-bindings';
import type { DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import type { Matrix } from '../model/matrix.js';
import { columnNames } from '../cli/format.js';

type Duck = typeof import('@duckdb/node-api');
type Connection = Awaited<ReturnType<Awaited<ReturnType<Duck['DuckDBInstance']['create']>>['connect']>>;

/** The table function's name: `SELECT * FROM mistique_relation('0')` is the first intermediate a statement named. */
export const RELATION_FUNCTION = 'mistique_relation';

/** Values a call copies at most (16 MB of float32): a chunk of a wide layer is fewer rows than DuckDB's 2 048. */
const CHUNK_VALUES = 1 << 22;

interface Scan { next: number; columns: number[]; per: number; stage: Map<number, Float64Array | Float32Array | Int32Array | Uint8Array>; entries: BigUint64Array }

/** Per relation: its result, whether it is one tensor (row_id and `values`), and its columns' DuckDB types. */
interface Served { m: Matrix; tensor: boolean; names: string[]; types: DuckDBType[] }

/**
 * Column names made unique as DuckDB's COPY makes them (`x`, `x_1`, …; names compare as DuckDB compares
 * them, case-insensitively): a join's `a.pred, b.pred` are two columns of a result, not one twice; a
 * table's `Price` and `price`, or a column of its own named row_id, are two columns of its relation.
 */
export function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set(names.map((n) => n.toLowerCase()));
  const seen = new Set<string>();
  return names.map((n) => {
    if (!seen.has(n.toLowerCase())) { seen.add(n.toLowerCase()); return n; }
    let k = 1;
    while (taken.has(`${n}_${k}`.toLowerCase())) k++;
    const name = `${n}_${k}`;
    taken.add(name.toLowerCase());
    seen.add(name.toLowerCase());
    return name;
  });
}

function isTensor(m: Matrix): boolean {
  return m.shape !== null && (m.values instanceof Float32Array || m.values instanceof Float64Array);
}

/**
 * The results a session's statement serves, by id. One table function per DuckDB connection (registered
 * once); `add` before the statement runs, `clear` when it ends.
 */
export class Relations {
  private readonly served = new Map<string, Served>();
  private counter = 0;
  /** The temporary tables of the statement's relations, and the hand-over under way (one at a time). */
  private readonly tables: string[] = [];
  private appending: Promise<unknown> = Promise.resolve();

  constructor(private readonly duck: Duck) {}

  register(c: Connection): void {
    const d = this.duck;
    const fn = d.DuckDBTableFunction.create({
      name: RELATION_FUNCTION,
      parameterTypes: [d.VARCHAR],
      supportsProjectionPushdown: true,
      bindFunction: (b) => {
        const id = String(b.getParameter(0));
        const s = this.served.get(id);
        if (!s) { b.setError(`${RELATION_FUNCTION}(${id}) is no intermediate of this statement: name intermediates by their quoted keys`); return; }
        s.names.forEach((n, j) => b.addResultColumn(n, s.types[j]!));
        b.setBindData({ id });
        b.setCardinality(s.m.nrows, true);
      },
      initFunction: (i) => {
        const s = this.served.get((i.bindData as { id: string }).id)!;
        const width = s.tensor ? s.m.ncols : 1;
        const per = Math.max(1, Math.min(duckdb.vector_size(), Math.floor(CHUNK_VALUES / Math.max(1, width))));
        const scan: Scan = { next: 0, columns: i.getColumnIndexes(), per, stage: new Map(), entries: new BigUint64Array(2 * per) };
        i.setInitData(scan);
        i.setMaxThreads(1);
      },
      mainFunction: (info, out) => {
        try {
          this.fill(this.served.get((info.bindData as { id: string }).id)!, info.initData as Scan, out);
        } catch (err) {
          info.setError(`reading an intermediate into DuckDB failed: ${(err as Error).message}`);
          out.rowCount = 0;
        }
      },
    });
    c.registerTableFunction(fn);
  }

  /**
   * Serves `m` until `clear`; what a view reads it from. A tensor is read through the table function,
   * straight from `m`; a table of columns is appended to a temporary table first — its chunks are
   * narrow, and each call of the table function crosses from DuckDB's thread to the event loop and back
   * (~0.2 ms), one relation after another: a join of two 100 000-row predictions scanned 10 ms slower
   * than from Parquet, while DuckDB scans its own table on every core.
   */
  async add(c: Connection, m: Matrix): Promise<string> {
    const id = this.serve(m);
    const s = this.served.get(id)!;
    if (s.tensor) return `${RELATION_FUNCTION}('${id}')`;
    // one relation's table at a time: the connection runs one statement at a time
    const done = this.appending.then(async () => {
      const table = `mistique_relation_${id}`;
      await c.run(`CREATE TEMP TABLE ${table} (${s.names.map((n, j) => `"${n.replace(/"/g, '""')}" ${s.types[j]!.toString()}`).join(', ')})`);
      this.tables.push(table);
      const appender = await c.createAppender(table, 'main', 'temp');
      try {
        const chunk = this.duck.DuckDBDataChunk.create(s.types);
        const scan: Scan = { next: 0, columns: s.types.map((_, j) => j), per: duckdb.vector_size(), stage: new Map(), entries: new BigUint64Array(0) };
        while (scan.next < m.nrows) {
          chunk.reset();
          this.fill(s, scan, chunk);
          appender.appendDataChunk(chunk);
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      return `temp.main.${table}`;
    });
    this.appending = done.catch(() => undefined);
    return done;
  }

  /** Serves `m` through the table function until `clear`; its id. */
  private serve(m: Matrix): string {
    const d = this.duck;
    const id = String(this.counter++);
    const tensor = isTensor(m);
    const element = (v: Matrix['values']): DuckDBType => v instanceof Float64Array ? d.DOUBLE : v instanceof Float32Array ? d.FLOAT : v instanceof Int32Array ? d.INTEGER : d.UTINYINT;
    const names = uniqueNames(['row_id', ...(tensor ? ['values'] : columnNames(m))]);
    const types: DuckDBType[] = [d.INTEGER, ...(tensor ? [d.LIST(element(m.values))]
      : m.columns.map((c) => (c.type === 'float64' ? d.DOUBLE : c.type === 'float32' ? d.FLOAT : c.type === 'bool' ? d.BOOLEAN : c.type === 'utf8' ? d.VARCHAR : d.INTEGER)))];
    this.served.set(id, { m, tensor, names, types });
    return id;
  }

  /** Forgets the statement's results and drops its tables (after the views that read them). */
  async clear(c: Connection): Promise<void> {
    await this.appending;
    this.served.clear();
    for (const t of this.tables.splice(0)) await c.run(`DROP TABLE IF EXISTS temp.main.${t}`).catch(() => undefined);
  }

  /** One output chunk: the next rows of every column DuckDB asked for. */
  private fill(s: Served, scan: Scan, out: DuckDBDataChunk): void {
    const { m } = s;
    const r = scan.next, n = Math.min(scan.per, m.nrows - r);
    scan.next += n;
    out.rowCount = n;
    if (n <= 0) return;
    const copy = (vec: duckdb.Vector, v: Float64Array | Float32Array | Int32Array | Uint8Array): void => duckdb.copy_data_to_vector(vec, 0, v.buffer as ArrayBuffer, v.byteOffset, v.byteLength);
    // a staging array per column, reused chunk after chunk: DuckDB copies from an ArrayBuffer, and a large
    // result lives in shared memory (its workers decode into it)
    const stage = <T extends Float64Array | Float32Array | Int32Array | Uint8Array>(k: number, make: (len: number) => T, len: number): T => {
      let a = scan.stage.get(k) as T | undefined;
      if (!a || a.length < len) scan.stage.set(k, (a = make(len)));
      return a.subarray(0, len) as T;
    };
    scan.columns.forEach((col, k) => {
      const vec = duckdb.data_chunk_get_vector(out.chunk, k);
      if (col === 0) {
        const ids = stage(k, (l) => new Int32Array(l), n);
        ids.set(m.rowIds.subarray(r, r + n));
        copy(vec, ids);
        return;
      }
      if (s.tensor) {
        const w = m.ncols;
        for (let i = 0; i < n; i++) { scan.entries[2 * i] = BigInt(i * w); scan.entries[2 * i + 1] = BigInt(w); }
        duckdb.copy_data_to_vector(vec, 0, scan.entries.buffer as ArrayBuffer, 0, n * 16);
        duckdb.list_vector_reserve(vec, n * w);
        const src = m.values.subarray(r * w, (r + n) * w);
        const make = (l: number) => new (m.values.constructor as { new (l: number): typeof m.values })(l);
        const vals = stage(k, make, n * w);
        vals.set(src);
        duckdb.copy_data_to_vector(duckdb.list_vector_get_child(vec), 0, vals.buffer as ArrayBuffer, vals.byteOffset, vals.byteLength);
        duckdb.list_vector_set_size(vec, n * w);
        return;
      }
      const j = col - 1, c = m.columns[j]!, nc = m.ncols;
      if (c.type === 'utf8') {
        const dict = c.dictionary!;
        out.setColumnValues(k, Array.from({ length: n }, (_, i) => { const code = m.values[(r + i) * nc + j]!; return code < 0 ? null : dict[code]!; }));
        return;
      }
      const a = c.type === 'float64' ? stage(k, (l) => new Float64Array(l), n) : c.type === 'float32' ? stage(k, (l) => new Float32Array(l), n)
        : c.type === 'bool' ? stage(k, (l) => new Uint8Array(l), n) : stage(k, (l) => new Int32Array(l), n);
      if (c.type === 'bool') for (let i = 0; i < n; i++) a[i] = m.values[(r + i) * nc + j] ? 1 : 0;
      else for (let i = 0; i < n; i++) a[i] = m.values[(r + i) * nc + j]!;
      copy(vec, a);
    });
  }
}
