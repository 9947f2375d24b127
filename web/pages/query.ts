// The query page: a key pattern and rows — the cost model's read and re-run estimates with their bands,
// its choice and why, then the result as chosen with its measured time — and SQL over the store.
import { api, errorBox, fmt, h, ms, pageUrl, ready, table } from '../util.js';

interface Band { runs: number; low: number; median: number; high: number }
interface Estimate {
  key: string; rows: number; columns: number; scheme: string; materialized: boolean; workflow: string | null; choice: string; reason: string;
  read: { ms: number; source: string; accuracy: Band | null; blocks: number; segments: number; rawBytes: number; cachedBytes: number } | null;
  rerun: { ms: number; accuracy: Band | null; terms: Record<string, number> } | null;
}
interface Q { estimates: Estimate[]; ms: number; sources: { key: string; path: string; ms: number; loss: string }[]; nrows: number; ncols: number; columns: string[]; rowIds: number[]; rows: (number | string | null)[][] }

const band = (b: Band | null | undefined): string => (b ? `×${b.low.toPrecision(2)}–${b.high.toPrecision(2)} (median ${b.median.toPrecision(2)}, ${b.runs} runs)` : 'no runs yet');

export async function queryPage(main: HTMLElement, q: URLSearchParams): Promise<void> {
  const key = h('input', { value: q.get('key') ?? '', size: 48, placeholder: 'zillow.P1_1.pred_test.* or fmnist.tiny_e01.relu1.*', 'aria-label': 'key pattern' });
  const rows = h('input', { value: q.get('rows') ?? '', size: 16, placeholder: 'all, or 1,5-8', 'aria-label': 'rows' });
  const out = h('div#result');
  const sql = h('textarea', { rows: 4, cols: 90, 'aria-label': 'SQL', placeholder: 'SELECT * FROM mistique_models' });
  sql.value = q.get('sql') ?? '';
  const sqlOut = h('div#sqlresult');
  const run = async (): Promise<void> => {
    history.replaceState(null, '', pageUrl('query', { key: key.value, rows: rows.value, sql: sql.value }));
    out.replaceChildren(h('p.muted', null, 'estimating and running…'));
    try {
      const r = await api<Q>('query', { key: key.value, rows: rows.value });
      out.replaceChildren(
        h('h3', null, 'explain'),
        table(['intermediate', 'rows', 'read ≈', 'its band', 're-run ≈', 'its band', 'choice', 'why'], r.estimates.map((e) => [
          e.key, e.rows, e.read ? ms(e.read.ms) : 'not stored', band(e.read?.accuracy), e.rerun ? ms(e.rerun.ms) : 'cannot', band(e.rerun?.accuracy), h('strong', null, e.choice), e.reason])),
        h('p', null, `result: ${r.nrows} rows × ${r.ncols} columns in `, h('strong#measured', null, ms(r.ms)), ` — ${r.sources.map((s) => `${s.key} ${s.path === 'read' ? 'read' : 're-run'} in ${ms(s.ms)}${s.loss !== 'none' ? ` (${s.loss})` : ''}`).join('; ')}`),
        table(['row_id', ...r.columns.map((c) => c.split('.').slice(3).join('.'))], r.rowIds.map((id, i) => [String(id), ...r.rows[i]!.map((v) => typeof v === 'number' ? v : fmt(v))])),
        r.nrows > r.rowIds.length || r.ncols > r.columns.length ? h('p.muted', null, `the first ${r.rowIds.length} rows and ${r.columns.length} columns shown`) : '',
      );
    } catch (e) { out.replaceChildren(errorBox(e)); }
  };
  const runSql = async (): Promise<void> => {
    history.replaceState(null, '', pageUrl('query', { key: key.value, rows: rows.value, sql: sql.value }));
    sqlOut.replaceChildren(h('p.muted', null, 'running…'));
    try {
      const r = await api<{ columns: string[]; total: number; rows: unknown[][]; ms: number }>('sql', { q: sql.value, limit: 200 });
      sqlOut.replaceChildren(h('p', null, `${r.total} rows in ${ms(r.ms)}${r.total > r.rows.length ? ` (the first ${r.rows.length} shown)` : ''}`),
        table(r.columns, r.rows.map((row) => row.map((v) => (typeof v === 'number' ? v : fmt(v))))));
    } catch (e) { sqlOut.replaceChildren(errorBox(e)); }
  };
  main.replaceChildren(
    h('h1', null, 'Query'),
    h('section', null, h('h2', null, 'Read or re-run'), h('p.controls', null, key, ' rows ', rows, ' ', h('button', { onclick: () => { void run(); } }, 'explain and run')), out),
    h('section', null, h('h2', null, 'SQL'), h('p.muted', null, 'One read-only statement (DuckDB). Relations are quoted keys, e.g. "zillow.P1_1.pred_test"; catalog: mistique_intermediates, mistique_models, mistique_projects, mistique_lineage.'),
      sql, h('p.controls', null, h('button', { onclick: () => { void runSql(); } }, 'run SQL')), sqlOut),
  );
  const pending: Promise<void>[] = [];
  if (key.value) pending.push(run());
  if (sql.value) pending.push(runSql());
  await Promise.all(pending);
  ready('query');
}
