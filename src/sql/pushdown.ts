// Which rows and columns of each intermediate a SQL query can need, from DuckDB's own parse tree
// (json_serialize_sql): the WHERE clause's top-level conjuncts that compare row_id with constants, and the
// column names it references anywhere. Pure functions.

/** The row ids a relation's rows must fall in: a closed range, or a set. */
export type RowFilter = { lo: number; hi: number; ids?: Set<number> };

type Node = Record<string, unknown>;

/** The base tables a statement reads, and its FROM clause holds nothing else (no subquery, no table function). */
export function baseTables(stmt: Node): { names: string[]; simple: boolean; aliases: Map<string, string> } {
  const names: string[] = [];
  const aliases = new Map<string, string>();
  let simple = true;
  const walk = (o: unknown, inFrom: boolean): void => {
    if (!o || typeof o !== 'object') return;
    if (Array.isArray(o)) { o.forEach((x) => walk(x, inFrom)); return; }
    const n = o as Node;
    if (n.type === 'BASE_TABLE' && typeof n.table_name === 'string') {
      names.push(n.table_name);
      aliases.set(typeof n.alias === 'string' && n.alias ? n.alias : n.table_name, n.table_name);
      if (!inFrom) simple = false;
    }
    for (const [k, v] of Object.entries(n)) walk(v, inFrom && (k === 'left' || k === 'right'));
  };
  const node = stmt.node as Node | undefined;
  if (!node || node.type !== 'SELECT_NODE') simple = false;
  walk(node?.from_table, true);
  for (const [k, v] of Object.entries(node ?? {})) if (k !== 'from_table') walk(v, false);
  const from = node?.from_table as Node | undefined;
  const onlyTablesAndJoins = (f: Node | undefined): boolean => !f || f.type === 'EMPTY' || f.type === 'BASE_TABLE' || (f.type === 'JOIN' && onlyTablesAndJoins(f.left as Node) && onlyTablesAndJoins(f.right as Node));
  if (!onlyTablesAndJoins(from)) simple = false;
  return { names, simple, aliases };
}

const FLIP: Record<string, string> = { COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN', COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN', COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO', COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO', COMPARE_EQUAL: 'COMPARE_EQUAL' };

function constant(n: unknown): number | null {
  const c = n as Node | undefined;
  if (!c) return null;
  if (c.class === 'CONSTANT') {
    const v = (c.value as Node | undefined)?.value;
    const x = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
    return Number.isFinite(x) ? x : null;
  }
  if (c.class === 'CAST') return constant(c.child);
  return null;
}

/** `row_id` or `t.row_id`: the qualifier ('' when none), or null when the node is another expression. */
function rowIdRef(n: unknown): string | null {
  const c = n as Node | undefined;
  if (c?.class !== 'COLUMN_REF') return null;
  const names = c.column_names as string[];
  if (names.at(-1)?.toLowerCase() !== 'row_id') return null;
  return names.length > 1 ? names.slice(0, -1).join('.') : '';
}

/** A conjunct as a filter on some qualifier's row_id, or null when it is anything else. */
function conjunctFilter(c: Node): { q: string; f: RowFilter } | null {
  const type = c.type as string;
  if (type in FLIP) {
    let [l, r] = [c.left, c.right];
    let op = type;
    if (rowIdRef(l) === null) { [l, r] = [r, l]; op = FLIP[type]!; }
    const q = rowIdRef(l), v = constant(r);
    if (q === null || v === null) return null;
    const f: RowFilter = op === 'COMPARE_EQUAL' ? { lo: v, hi: v }
      : op === 'COMPARE_LESSTHAN' ? { lo: -Infinity, hi: Math.ceil(v) - 1 }
      : op === 'COMPARE_LESSTHANOREQUALTO' ? { lo: -Infinity, hi: Math.floor(v) }
      : op === 'COMPARE_GREATERTHAN' ? { lo: Math.floor(v) + 1, hi: Infinity }
      : { lo: Math.ceil(v), hi: Infinity };
    return { q, f };
  }
  if (type === 'COMPARE_BETWEEN') {
    const q = rowIdRef(c.input), lo = constant(c.lower), hi = constant(c.upper);
    return q !== null && lo !== null && hi !== null ? { q, f: { lo: Math.ceil(lo), hi: Math.floor(hi) } } : null;
  }
  if (type === 'COMPARE_IN') {
    const [first, ...rest] = c.children as unknown[];
    const q = rowIdRef(first);
    const vs = rest.map(constant);
    if (q === null || vs.some((v) => v === null)) return null;
    const ids = new Set(vs as number[]);
    return { q, f: { lo: Math.min(...ids), hi: Math.max(...ids), ids } };
  }
  return null;
}

function intersect(a: RowFilter, b: RowFilter): RowFilter {
  const lo = Math.max(a.lo, b.lo), hi = Math.min(a.hi, b.hi);
  let ids = a.ids ?? b.ids;
  if (a.ids && b.ids) ids = new Set([...a.ids].filter((x) => b.ids!.has(x)));
  return ids ? { lo, hi, ids: new Set([...ids].filter((x) => x >= lo && x <= hi)) } : { lo, hi };
}

/**
 * Per base table of a simple statement (tables and joins only), the row ids its WHERE clause lets through.
 * A conjunct on a qualified `t.row_id` narrows t; an unqualified `row_id` narrows every table (it names the
 * one table with a row_id, or the column a USING (row_id) join merges — either way a row of each table
 * that reaches the result has a row_id in the range). Sound because the conjuncts hold for every result
 * row; a table with no such conjunct gets no filter (read whole).
 */
export function rowFilters(stmt: Node): Map<string, RowFilter> {
  const out = new Map<string, RowFilter>();
  const { names, simple, aliases } = baseTables(stmt);
  if (!simple) return out;
  // a table read twice (a self-join) may need other rows under its other alias: never narrowed
  const twice = new Set(names.filter((n, i) => names.indexOf(n) !== i));
  const where = (stmt.node as Node).where_clause as Node | null;
  if (!where) return out;
  const conjuncts: Node[] = [];
  const split = (n: Node): void => { if (n.type === 'CONJUNCTION_AND') (n.children as Node[]).forEach(split); else conjuncts.push(n); };
  split(where);
  for (const c of conjuncts) {
    const cf = conjunctFilter(c);
    if (!cf) continue;
    const targets = cf.q === '' ? [...new Set(aliases.values())] : aliases.has(cf.q) ? [aliases.get(cf.q)!] : [];
    for (const t of targets) if (!twice.has(t)) out.set(t, out.has(t) ? intersect(out.get(t)!, cf.f) : cf.f);
  }
  return out;
}

/**
 * The column names (lower case: DuckDB matches them so) a statement references anywhere — in any
 * expression, subquery or USING list — or null when it may need every column of a relation: a star
 * (`*`, `t.*`, `COLUMNS(…)`), a NATURAL join, columns renamed by position (`t(a, b)`), or a reference to a
 * whole row by its table's name or alias.
 * A relation needs at most the columns named here (and row_id): the set can be larger than what a
 * relation uses (a name of another relation's column, a lambda's parameter), never smaller.
 */
export function columnsUsed(stmt: Node): Set<string> | null {
  const names = new Set<string>();
  const tables = new Set<string>();
  let all = false;
  const walk = (o: unknown): void => {
    if (all || !o || typeof o !== 'object') return;
    if (Array.isArray(o)) { o.forEach(walk); return; }
    const n = o as Node;
    if (n.class === 'STAR' || n.type === 'STAR' || n.ref_type === 'NATURAL') { all = true; return; }
    if (n.type === 'BASE_TABLE' && typeof n.table_name === 'string') {
      // columns renamed by position (FROM "p.m.x" t(id, v)): which is which is known only to DuckDB
      if (Array.isArray(n.column_name_alias) && n.column_name_alias.length > 0) { all = true; return; }
      tables.add(n.table_name.toLowerCase());
      if (typeof n.alias === 'string' && n.alias) tables.add(n.alias.toLowerCase());
    }
    if (n.class === 'COLUMN_REF' && Array.isArray(n.column_names)) {
      const parts = n.column_names as string[];
      names.add(parts.at(-1)!.toLowerCase());
      // a one-part name may be a table's whole row (SELECT t FROM x t): checked once every table is known
      if (parts.length === 1) names.add(`\u0000${parts[0]!.toLowerCase()}`);
    }
    if (Array.isArray(n.using_columns)) for (const u of n.using_columns as string[]) names.add(String(u).toLowerCase());
    for (const v of Object.values(n)) walk(v);
  };
  walk(stmt);
  if (all) return null;
  for (const t of tables) if (names.has(`\u0000${t}`)) return null;
  return new Set([...names].filter((x) => !x.startsWith('\u0000')));
}
