// Real XGBoost (ml-xgboost: XGBoost compiled to WebAssembly), driven through its C entry points with
// data copied into the module's heap (its JS wrapper passes training data on the 5 MB wasm stack, which
// overflows on the Zillow training set, and predicts through per-row JS arrays).
// That build rejects NaN ("missing=NAN not set"), so missing values are fed as MISSING = −999, the
// value Zillow kernels used for the same purpose.
import { createRequire } from 'node:module';
import { MistiqueError } from '../../errors.js';

export const MISSING = -999;

interface XGBModule {
  isReady: Promise<XGBModule>;
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _create_model(x: number, y: number, rows: number, cols: number): number;
  _train_full_model(m: number, iterations: number): void;
  _predict_one(m: number, row: number, cols: number, out: number): number;
  _save_model(m: number): number;
  _get_file_content(p: number, n: number): void;
  _load_model(p: number, n: number): number;
  _free_memory_model(m: number): void;
  cwrap(name: string, ret: string | null, args: string[]): (...a: unknown[]) => unknown;
}

let modulePromise: Promise<XGBModule> | null = null;

function xgb(): Promise<XGBModule> {
  if (!modulePromise) {
    const require = createRequire(import.meta.url);
    // The emscripten loader first tries fetch() on a file path, warns, and falls back to reading the file.
    const warn = console.warn;
    console.warn = () => {};
    const m = require('ml-xgboost/dist/wasm/xgboost.js') as XGBModule;
    modulePromise = m.isReady.then((ready) => { console.warn = warn; return ready; }, (err) => { console.warn = warn; throw err; });
  }
  return modulePromise;
}

export interface XGBParams { eta: number; lambda: number; alpha: number; max_depth: number; subsample: number; min_child_weight: number; num_rounds: number }

function toF32(x: number): number {
  return Number.isNaN(x) ? MISSING : x;
}

function copyIn(m: XGBModule, data: Float32Array): number {
  const p = m._malloc(data.byteLength);
  if (!p) throw new MistiqueError('NO_MEMORY', `XGBoost: cannot allocate ${data.byteLength} bytes in its WebAssembly heap`);
  m.HEAPU8.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), p);
  return p;
}

/** Trains and returns the serialized booster (XGBoost's own binary model format). */
export async function trainXGBoost(X: Float64Array[], y: Float64Array, p: XGBParams): Promise<Uint8Array> {
  const m = await xgb();
  const n = y.length, F = X.length;
  const flat = new Float32Array(n * F);
  for (let j = 0; j < F; j++) { const c = X[j]!; for (let i = 0; i < n; i++) flat[i * F + j] = toF32(c[i]!); }
  const px = copyIn(m, flat), py = copyIn(m, Float32Array.from(y));
  const model = m._create_model(px, py, n, F);
  m._free(px); m._free(py);
  const setParam = m.cwrap('set_param', null, ['number', 'string', 'string']);
  // base_score defaults to 0.5, far from a logerror near 0.01: start from the label mean, as LightGBM does
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean = n ? mean / n : 0;
  const params: Record<string, string> = {
    booster: 'gbtree', objective: 'reg:linear', silent: '1', seed: '0', base_score: String(mean),
    eta: String(p.eta), lambda: String(p.lambda), alpha: String(p.alpha), max_depth: String(p.max_depth),
    subsample: String(p.subsample), min_child_weight: String(p.min_child_weight),
  };
  for (const [k, v] of Object.entries(params)) setParam(model, k, v);
  m._train_full_model(model, p.num_rounds);
  const bytes = save(m, model);
  m._free_memory_model(model);
  return bytes;
}

function save(m: XGBModule, model: number): Uint8Array {
  const size = m._save_model(model);
  if (size < 0) throw new MistiqueError('INTERNAL', 'XGBoost could not serialize its model');
  const p = m._malloc(size);
  m._get_file_content(p, size);
  const out = m.HEAPU8.slice(p, p + size);
  m._free(p);
  return out;
}

/** Predicts with a serialized booster, row by row inside the module (one heap buffer reused). */
export async function predictXGBoost(bytes: Uint8Array, X: Float64Array[], n: number): Promise<Float64Array> {
  const m = await xgb();
  const pb = m._malloc(bytes.length);
  m.HEAPU8.set(bytes, pb);
  const model = m._load_model(pb, bytes.length);
  m._free(pb);
  if (!model) throw new MistiqueError('CORRUPT', 'XGBoost could not load the stored model');
  const F = X.length;
  const row = m._malloc(F * 4), out = m._malloc(64);
  const res = new Float64Array(n);
  try {
    for (let i = 0; i < n; i++) {
      const base = row >> 2;
      const heap = m.HEAPF32;
      for (let j = 0; j < F; j++) heap[base + j] = toF32(X[j]![i]!);
      m._predict_one(model, row, F, out);
      res[i] = m.HEAPF32[out >> 2]!;
    }
  } finally {
    m._free(row); m._free(out);
    m._free_memory_model(model);
  }
  return res;
}
